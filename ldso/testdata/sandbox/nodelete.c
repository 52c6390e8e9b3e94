long nd(void) { return 7; }
