/* RTLD_NEXT: the second definition of which(). */
long which(void) { return 2; }
