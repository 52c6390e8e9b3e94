#include "harness/harness.h"
static long counter;
static int flag;
static unsigned long bits;
void halite_main(void)
{
	for (int i = 0; i < 1000; i++) __atomic_fetch_add(&counter, i, __ATOMIC_SEQ_CST);
	long old = __atomic_exchange_n(&counter, 5, __ATOMIC_ACQ_REL);
	long exp = 5;
	int ok = __atomic_compare_exchange_n(&counter, &exp, 42, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	int bad = __atomic_compare_exchange_n(&counter, &exp, 7, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	h_str("atomics "); h_i64(old); h_str(" "); h_i64(ok); h_str(" "); h_i64(bad); h_str(" "); h_i64(counter); h_nl();
	__atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
	h_str("flag "); h_i64(__atomic_load_n(&flag, __ATOMIC_ACQUIRE)); h_nl();
	for (int i = 0; i < 64; i += 3) __atomic_fetch_or(&bits, 1UL << i, __ATOMIC_RELAXED);
	__atomic_fetch_and(&bits, ~0xffUL, __ATOMIC_RELAXED);
	__atomic_fetch_xor(&bits, 0x5555UL, __ATOMIC_RELAXED);
	h_str("bits "); h_hex(bits); h_nl();
	__sync_synchronize();
	h_str("sync "); h_i64(__sync_add_and_fetch(&counter, 8)); h_nl();
}
