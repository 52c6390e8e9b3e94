/* libver.so version 1 (link stub only): foo@@VER_1, bar@@VER_1. */
int foo(void) { return 1; }
int bar(void) { return 3; }
