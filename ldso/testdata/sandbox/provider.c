long provided(void) { return 41; }
