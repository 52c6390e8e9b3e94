/* libhash_gnu.so, libhash_sysv.so, libhash_both.so: the same symbols under
   each hash-table style. fAb and fBA have the same GNU hash
   ('A'*33+'b' == 'B'*33+'A'), so they share a bucket and a chain value. */
int fAb(void) { return 1; }
int fBA(void) { return 2; }
int alpha(void) { return 3; }
int beta(void) { return 4; }
int gamma_(void) { return 5; }
int delta(void) { return 6; }
int epsilon(void) { return 7; }
int data_a = 1, data_b = 2, data_c = 3;
