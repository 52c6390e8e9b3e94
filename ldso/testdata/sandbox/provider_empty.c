long something_else(void) { return 0; }
