#include "CMulticore.h"

_Thread_local const void *mc_wire_encoder_word;
_Thread_local const void *mc_wire_decoder_word;
