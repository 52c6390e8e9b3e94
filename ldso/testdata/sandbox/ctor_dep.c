/* Opened by ctor_dlopen.c's constructor. */
static long v;
__attribute__((constructor)) static void init(void) { v = 40; }
long dep_val(void) { return v + 2; }
