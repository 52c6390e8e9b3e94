/* Destructor order: each destructor appends its tag to a log in libfini_log. */
extern void fini_log(long);
__attribute__((destructor)) static void bye(void) { fini_log(TAG); }
__attribute__((constructor)) static void hi(void) { fini_log(100 + TAG); }
