#include "harness/harness.h"
struct small { int a; char b; };
struct big { long x[9]; double d; struct small s; };
__attribute__((noinline)) struct big make(long seed)
{
	struct big b;
	for (int i = 0; i < 9; i++) b.x[i] = seed * (i + 1);
	b.d = seed / 3.0;
	b.s.a = (int)seed; b.s.b = (char)(seed & 0x7f);
	return b;
}
__attribute__((noinline)) long sum(struct big b, struct small s)
{
	long t = s.a + s.b;
	for (int i = 0; i < 9; i++) t += b.x[i];
	return t + (long)(b.d * 100) + b.s.a;
}
__attribute__((noinline)) struct small swap(struct small s) { struct small r = { s.b, (char)s.a }; return r; }
void halite_main(void)
{
	struct big b = make(12345);
	struct small s = { 7, 9 };
	h_str("sum "); h_i64(sum(b, s)); h_nl();
	struct small t = swap(s);
	h_str("swap "); h_i64(t.a); h_str(" "); h_i64(t.b); h_nl();
	struct big arr[4];
	for (int i = 0; i < 4; i++) arr[i] = make(i + 1);
	long z = 0;
	for (int i = 0; i < 4; i++) z += sum(arr[i], arr[3 - i].s);
	h_str("arr "); h_i64(z); h_nl();
}
