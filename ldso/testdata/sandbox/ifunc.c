/* IFUNCs whose resolvers run inside the sandbox: f (exported, bound by
 * other modules) and g (hidden, reached through a data pointer: IRELATIVE). */
static long impl42(void) { return 42; }
static long impl43(void) { return 43; }
static long (*resolve_f(void))(void) { return impl42; }
static long (*resolve_g(void))(void) { return impl43; }
long f(void) __attribute__((ifunc("resolve_f")));
__attribute__((visibility("hidden"))) long g(void) __attribute__((ifunc("resolve_g")));
long (*volatile g_ptr)(void) = g;
long call_fp(void) { return g_ptr(); }
