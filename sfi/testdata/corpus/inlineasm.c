#include "harness/harness.h"
/* Inline assembly reaches the .s as text and is rewritten like the rest. */
__attribute__((noinline)) long load_add(long *p, long x)
{
	long r;
	__asm__("movq (%1), %0\n\taddq %2, %0" : "=&r"(r) : "r"(p), "r"(x) : "memory");
	return r;
}
__attribute__((noinline)) void fill(char *d, int c, unsigned long n)
{
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
}
void halite_main(void)
{
	long v = 40;
	h_str("asm "); h_i64(load_add(&v, 2)); h_nl();
	static char buf[64];
	fill(buf, 'z', 63);
	h_str(buf); h_nl();
	unsigned hi, lo;
	__asm__ volatile("cpuid" : "=a"(lo), "=b"(hi) : "a"(0) : "rcx", "rdx");
	h_str("cpuid ok\n");
}
