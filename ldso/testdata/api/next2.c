/* RTLD_NEXT: the second definition of which(), in next1.so's dependency. */
long which(void) { return 2; }
