#include "harness/harness.h"
/* Quicksort through a comparison function pointer (indirect calls, memory). */
#define N 2000000
static int a[N];
typedef int (*cmp_fn)(const int *, const int *);
__attribute__((noinline)) static int cmp(const int *x, const int *y) { return (*x > *y) - (*x < *y); }
static void qs(int *v, long n, cmp_fn c)
{
	while (n > 16) {
		int p = v[n / 2];
		long i = 0, j = n - 1;
		for (;;) {
			while (c(&v[i], &p) < 0) i++;
			while (c(&v[j], &p) > 0) j--;
			if (i >= j) break;
			int t = v[i]; v[i] = v[j]; v[j] = t;
			i++; j--;
		}
		qs(v, j + 1, c);
		v += j + 1; n -= j + 1;
	}
	for (long i = 1; i < n; i++) {
		int x = v[i]; long j = i;
		while (j > 0 && c(&v[j - 1], &x) > 0) { v[j] = v[j - 1]; j--; }
		v[j] = x;
	}
}
void halite_main(void)
{
	unsigned x = 1;
	for (int i = 0; i < N; i++) { x = x * 1103515245u + 12345u; a[i] = (int)(x >> 1); }
	qs(a, N, cmp);
	unsigned long h = 0;
	for (int i = 0; i < N; i += 1000) h = h * 31 + (unsigned)a[i];
	h_str("sort "); h_hex(h); h_nl();
}
