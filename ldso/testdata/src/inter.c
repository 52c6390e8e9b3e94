/* libinter.so: would interpose libprot's pdata and pfun if they were not
   protected. */
int pdata = 9;
int pfun(void) { return 9; }
