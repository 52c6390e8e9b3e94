/* An IFUNC whose resolver runs inside the sandbox. */
static long impl42(void) { return 42; }
static long (*resolve_f(void))(void) { return impl42; }
long f(void) __attribute__((ifunc("resolve_f")));
long call_f(void) { return f(); }
