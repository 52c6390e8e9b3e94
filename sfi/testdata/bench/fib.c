#include "harness/harness.h"
/* Call-heavy: every call pays for the masked return. */
__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void halite_main(void) { h_str("fib "); h_i64(fib(40)); h_nl(); }
