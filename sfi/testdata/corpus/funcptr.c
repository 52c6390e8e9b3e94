#include "harness/harness.h"
typedef long (*op_fn)(long, long);
__attribute__((noinline)) static long add(long a, long b) { return a + b; }
__attribute__((noinline)) static long mul(long a, long b) { return a * b; }
__attribute__((noinline)) static long sub(long a, long b) { return a - b; }
static op_fn ops[3] = { add, mul, sub };
struct vt { op_fn f; const char *name; };
static const struct vt table[] = { { add, "add" }, { mul, "mul" }, { sub, "sub" } };
__attribute__((noinline)) long apply(op_fn f, long a, long b) { return f(a, b); }
__attribute__((noinline)) long tail(op_fn f, long a) { return f(a, 3); }
void halite_main(void)
{
	long acc = 1;
	for (int i = 0; i < 30; i++) acc = ops[i % 3](acc, i + 2);
	h_str("acc "); h_i64(acc); h_nl();
	for (int i = 0; i < 3; i++) { h_str(table[i].name); h_str(" "); h_i64(apply(table[i].f, 40, 2)); h_nl(); }
	op_fn volatile v = mul;
	h_str("tail "); h_i64(tail(v, 14)); h_nl();
	void (*pr)(const char *) = h_str;
	pr("via pointer\n");
}
