/* A module with a dependency, initial-exec TLS and a constructor. */
int g = 5;
static __thread int tv = 7;
extern long dep_twice(long);
long add(long a, long b) { tv++; return a + b + g + dep_twice(a) + tv; }
__attribute__((constructor)) static void ini(void) { g = 10; }
