#include "harness/harness.h"
__attribute__((noinline)) long vla(int n)
{
	long a[n];
	for (int i = 0; i < n; i++) a[i] = i * i - n;
	long s = 0;
	for (int i = n - 1; i >= 0; i--) s = s * 3 + a[i];
	return s;
}
__attribute__((noinline)) long useall(int n)
{
	char *p = __builtin_alloca(n);
	for (int i = 0; i < n; i++) p[i] = (char)(i * 7);
	long s = 0;
	for (int i = 0; i < n; i++) s += p[i];
	return s + vla(n / 10 + 1);
}
__attribute__((noinline)) long aligned(int n)
{
	long __attribute__((aligned(64))) buf[8];
	double m[n][3];
	for (int i = 0; i < 8; i++) buf[i] = i + n;
	for (int i = 0; i < n; i++) { m[i][0] = i; m[i][1] = i * 0.5; m[i][2] = buf[i % 8]; }
	double t = 0;
	for (int i = 0; i < n; i++) t += m[i][0] * m[i][1] + m[i][2];
	return (long)t + ((long)buf & 63);
}
void halite_main(void)
{
	h_str("vla "); h_i64(vla(33)); h_nl();
	h_str("alloca "); h_i64(useall(1000)); h_nl();
	h_str("aligned "); h_i64(aligned(50)); h_nl();
}
