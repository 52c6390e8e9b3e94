/* Local-exec TLS in an executable: the linker hard-codes each variable's
 * offset from the thread pointer. TestStaticOffsetMatchesLinker builds
 * this with -DALIGN=N -DSIZE=M and checks that pthread places module 1
 * where the code expects it. */
__thread char big[SIZE] __attribute__((aligned(ALIGN))) = {1};
__thread int small = 5;
__thread long zero;

__attribute__((noinline)) int get_big(void) { return big[0]; }
__attribute__((noinline)) int get_small(void) { return small; }
__attribute__((noinline)) long get_zero(void) { return zero; }

int main(void) { return get_big() + get_small() + (int)get_zero(); }
