#include "CMulticoreBench.h"
double mc_dummy(void){return 0;}
