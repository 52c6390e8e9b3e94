/* Calls the IFUNC f of libifunc.so. */
extern long f(void);
extern long call_fp(void);
long call_f(void) { return f(); }
