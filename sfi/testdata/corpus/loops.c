#include "harness/harness.h"
static unsigned long sieve_count(int n)
{
	static unsigned char comp[100000];
	unsigned long c = 0;
	for (int i = 2; i < n; i++) {
		if (comp[i]) continue;
		c++;
		for (int j = i * 2; j < n; j += i) comp[j] = 1;
	}
	return c;
}
void halite_main(void)
{
	unsigned long h = 1469598103934665603UL;
	for (int i = 0; i < 100000; i++) { h ^= (unsigned)i * 2654435761u; h *= 1099511628211UL; }
	h_str("hash "); h_hex(h); h_nl();
	h_str("primes "); h_i64(sieve_count(100000)); h_nl();
	int a[64];
	for (int i = 0; i < 64; i++) a[i] = (i * 37) % 64;
	for (int i = 0; i < 64; i++) for (int j = 0; j + 1 < 64 - i; j++)
		if (a[j] > a[j + 1]) { int t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
	long s = 0;
	for (int i = 0; i < 64; i++) s = s * 3 + a[i];
	h_str("sorted "); h_i64(s); h_nl();
	int k = 0; do { k += 3; } while (k < 1000);
	h_str("do "); h_i64(k); h_nl();
}
