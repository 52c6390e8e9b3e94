#include "harness/harness.h"
struct rec { char name[40]; long v[20]; };
__attribute__((noinline)) void copy(struct rec *d, const struct rec *s) { *d = *s; }
void halite_main(void)
{
	static char a[5000], b[5000];
	for (int i = 0; i < 5000; i++) a[i] = (char)(i * 13);
	__builtin_memcpy(b, a, sizeof a);
	__builtin_memmove(b + 10, b, 3000);
	__builtin_memmove(b, b + 7, 1000);
	__builtin_memset(b + 100, 0x5a, 777);
	unsigned long h = 0;
	for (int i = 0; i < 5000; i++) h = h * 31 + (unsigned char)b[i];
	h_str("mem "); h_hex(h); h_str(" "); h_i64(__builtin_memcmp(a, b, 5000) > 0); h_nl();
	struct rec r1 = { "record", { 1, 2, 3 } }, r2;
	copy(&r2, &r1);
	h_str(r2.name); h_str(" "); h_i64(r2.v[2]); h_nl();
}
