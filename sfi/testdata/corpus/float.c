#include "harness/harness.h"
__attribute__((noinline)) double integrate(double a, double b, int n)
{
	double h = (b - a) / n, s = 0;
	for (int i = 0; i < n; i++) { double x = a + (i + 0.5) * h; s += x * x / (1.0 + x); }
	return s * h;
}
__attribute__((noinline)) float fdot(const float *a, const float *b, int n) { float s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }
void halite_main(void)
{
	h_str("integral "); h_f64(integrate(0, 3, 100000)); h_nl();
	float a[100], b[100];
	for (int i = 0; i < 100; i++) { a[i] = i * 0.25f; b[i] = 1.0f / (i + 1); }
	double d = fdot(a, b, 100);
	h_str("fdot "); h_f64(d); h_nl();
	double x = 1e300; x *= 10; h_str("inf "); h_f64(x); h_nl();
	long l = (long)(1234567.89 * 1000.0); h_str("conv "); h_i64(l); h_nl();
	unsigned long u = 0xfedcba9876543210UL; double ud = (double)u; h_str("u2d "); h_f64(ud); h_nl();
	h_str("i64 "); h_i64((long)(0x7fffffffffffffffL / 12345) * -3 + (0x123456789abL % 977)); h_nl();
	unsigned long p = 1; for (int i = 0; i < 64; i++) p = p * 6364136223846793005UL + 1442695040888963407UL;
	h_str("lcg "); h_hex(p); h_nl();
	h_str("shift "); h_hex((p >> 17) | (p << 47)); h_nl();
	h_str("div "); h_i64((long)p / -7); h_str(" "); h_hex(p / 13); h_nl();
}
