/* libprot.so: protected definitions referenced by absolute relocations
   of the library itself; they bind locally even though libinter.so,
   earlier in the scope, defines the same names. */
__attribute__((visibility("protected"))) int pdata = 5;
__attribute__((visibility("protected"))) int pfun(void) { return 1; }
int *p = &pdata;
int (*pf)(void) = pfun;
int getp(void) { return *p + pf(); }
