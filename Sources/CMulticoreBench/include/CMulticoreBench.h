double mc_dummy(void);
