/* libver.so version 2 (the run-time library): foo@VER_1 is kept, hidden,
   for old users; foo@@VER_2 is the default. */
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
int bar(void) { return 3; }
__asm__(".symver foo_v1, foo@VER_1");
__asm__(".symver foo_v2, foo@@VER_2");
