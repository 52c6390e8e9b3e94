/* hsandbox.c: the corpus harness's output functions (h_str, h_i64, h_hex,
 * h_f64, h_nl; see sfi/testdata/corpus/harness/harness.h) for a module
 * running in the sandbox. It formats byte for byte as the native base-0
 * harness (sfi/testdata/corpus/harness/harness.c) does and writes through
 * halite_syscall(1 = write, fd 1). Output is buffered in the module's data;
 * the test calls hs_flush after halite_main. */
#include <halite.h>
#include "harness/harness.h"

typedef unsigned long u64;

static char buf[1 << 16];
static unsigned blen;

/* hs_flush writes out the buffered bytes; it returns 0, or the failing
 * write's result. */
long hs_flush(void)
{
	unsigned off = 0;
	long n = 0;
	while (off < blen) {
		n = halite_syscall(1, 1, (long)(buf + off), blen - off, 0, 0, 0);
		if (n <= 0) break;
		off += n;
	}
	blen = 0;
	return n < 0 ? n : 0;
}

static void put(char c)
{
	if (blen == sizeof buf) hs_flush();
	buf[blen++] = c;
}

void h_str(const char *s) { while (*s) put(*s++); }
void h_nl(void) { put('\n'); }
void h_hex(u64 v)
{
	put('0'); put('x');
	for (int i = 60; i >= 0; i -= 4) put("0123456789abcdef"[(v >> i) & 15]);
}
void h_i64(long v)
{
	char t[24]; int n = 0;
	u64 u = v < 0 ? -(u64)v : (u64)v;
	if (v < 0) put('-');
	do { t[n++] = '0' + u % 10; u /= 10; } while (u);
	while (n) put(t[--n]);
}
void h_f64(double d) { u64 u; __builtin_memcpy(&u, &d, 8); h_hex(u); }
