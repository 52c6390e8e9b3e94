#include "harness/harness.h"
__thread long tcount = 5;
__thread int tarr[16] = { 1, 2, 3 };
static __thread char tbuf[100];
extern __thread long tcount;
__attribute__((noinline)) long *addr(void) { return &tcount; }
void halite_main(void)
{
	for (int i = 0; i < 16; i++) tarr[i] += i * i;
	long s = 0;
	for (int i = 0; i < 16; i++) s += tarr[i];
	*addr() += 100;
	for (int i = 0; i < 99; i++) tbuf[i] = 'a' + i % 26;
	h_str("tls "); h_i64(s); h_str(" "); h_i64(tcount); h_str(" "); h_i64(tbuf[50]); h_nl();
}
