/* A library the API test module dlopens: a constructor, TLS, a function. */
#include <halite.h>

static int ready;
static __thread long calls = 100;

__attribute__((constructor)) static void init(void) { ready = 1; }

long dep_mul(long a, long b) { calls++; return ready ? a * b + calls : -1; }

/* Exported thread-local variable: dlsym returns its address in the caller's thread. */
__thread long dep_tls = 77;
