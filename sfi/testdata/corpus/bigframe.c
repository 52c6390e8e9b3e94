#include "harness/harness.h"
__attribute__((noinline)) long big(int seed)
{
	volatile char buf[3 << 20]; /* 3 MiB frame: stack probes and large sub */
	for (int i = 0; i < (int)sizeof buf; i += 4096) buf[i] = (char)(i ^ seed);
	long s = 0;
	for (int i = 0; i < (int)sizeof buf; i += 4096) s += buf[i];
	return s;
}
__attribute__((noinline)) long mid(int seed)
{
	long a[5000];
	for (int i = 0; i < 5000; i++) a[i] = i * seed;
	long s = 0;
	for (int i = 0; i < 5000; i += 7) s += a[i];
	return s;
}
void halite_main(void)
{
	h_str("big "); h_i64(big(77)); h_nl();
	h_str("mid "); h_i64(mid(3)); h_nl();
}
