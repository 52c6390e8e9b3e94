int nothere(void) { return 0; }
