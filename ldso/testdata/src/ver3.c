/* libver.so version 3 (link stub only): adds baz@@VER_3, which the
   run-time library lacks. */
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
int bar(void) { return 3; }
int baz(void) { return 4; }
__asm__(".symver foo_v1, foo@VER_1");
__asm__(".symver foo_v2, foo@@VER_2");
