#include "harness/harness.h"
__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
__attribute__((noinline)) long ack(long m, long n)
{
	if (m == 0) return n + 1;
	if (n == 0) return ack(m - 1, 1);
	return ack(m - 1, ack(m, n - 1));
}
static int even(int n);
__attribute__((noinline)) static int odd(int n) { return n == 0 ? 0 : even(n - 1); }
__attribute__((noinline)) static int even(int n) { return n == 0 ? 1 : odd(n - 1); }
static void hanoi(int n, int a, int b, int c, long *moves) { if (!n) return; hanoi(n - 1, a, c, b, moves); (*moves)++; hanoi(n - 1, c, b, a, moves); }
void halite_main(void)
{
	h_str("fib "); h_i64(fib(27)); h_nl();
	h_str("ack "); h_i64(ack(2, 300)); h_nl();
	h_str("even "); h_i64(even(10001)); h_nl();
	long m = 0; hanoi(18, 1, 2, 3, &m);
	h_str("hanoi "); h_i64(m); h_nl();
}
