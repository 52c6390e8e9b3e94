/* foo@V1 (hidden, old) and foo@@V2 (default). */
long foo_v1(void) { return 1; }
long foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@V1");
__asm__(".symver foo_v2, foo@@V2");
