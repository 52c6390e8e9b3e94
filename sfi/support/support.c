/* halite cc support library: the functions gcc may call even in
 * freestanding code. Compiled by halite cc itself (so it is rewritten and
 * validated like user code) and linked as an archive after user inputs, so
 * a module's own definitions win. The symbols are hidden: every module gets
 * its own copy and exports none. */
typedef unsigned long size_t;
typedef unsigned long u64;
#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	void *ret = d;
	if (n >= 64) {
		/* rep movsb: the rewriter adds the sandboxing prefix. */
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		return ret;
	}
	unsigned char *dp = d;
	const unsigned char *sp = s;
	while (n >= 8) {
		u64 v;
		__builtin_memcpy(&v, sp, 8);
		__builtin_memcpy(dp, &v, 8);
		dp += 8; sp += 8; n -= 8;
	}
	while (n--) *dp++ = *sp++;
	return ret;
}

HIDDEN void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp == sp || n == 0) return d;
	if (dp < sp || dp >= sp + n) return memcpy(d, s, n);
	while (n >= 8) {
		u64 v;
		n -= 8;
		__builtin_memcpy(&v, sp + n, 8);
		__builtin_memcpy(dp + n, &v, 8);
	}
	while (n) { n--; dp[n] = sp[n]; }
	return d;
}

HIDDEN void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	if (n >= 64) {
		__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
		return ret;
	}
	unsigned char *dp = d;
	u64 v = (unsigned char)c * 0x0101010101010101UL;
	while (n >= 8) { __builtin_memcpy(dp, &v, 8); dp += 8; n -= 8; }
	while (n--) *dp++ = (unsigned char)c;
	return ret;
}

HIDDEN int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y) return *x < *y ? -1 : 1;
	return 0;
}
