/* basic_a's dependency (DT_NEEDED libbasic_b.so). */
int fini_count;
long dep_twice(long x) { return 2 * x; }
