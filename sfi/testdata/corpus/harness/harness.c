/* Base-0 harness: a static, non-PIE, libc-free native executable that runs
 * SFI-rewritten code with %r15 = 0. Everything (code, data, TLS, the stack)
 * lies below 4 GiB, so masked addresses equal real ones. Host functions are
 * 32-byte aligned (build with -falign-functions=32) so that masked calls
 * reach them. */
#include "harness.h"
typedef unsigned long u64;

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return ret;
}

static char buf[1 << 20];
static unsigned blen;

static void flush(void)
{
	unsigned off = 0;
	while (off < blen) {
		long n = sys6(1, 1, (long)(buf + off), blen - off, 0, 0, 0);
		if (n <= 0) break;
		off += n;
	}
	blen = 0;
}

static void put(char c)
{
	if (blen == sizeof buf) flush();
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

/* TLS for the static executable: variant II, thread pointer after the
 * block, self pointer at tp+0. */
typedef struct { unsigned type, flags; u64 off, vaddr, paddr, filesz, memsz, align; } phdr;
typedef struct { unsigned char ident[16]; unsigned short type, machine; unsigned version; u64 entry, phoff, shoff; unsigned flags; unsigned short ehsize, phentsize, phnum; } ehdr;
extern const ehdr __ehdr_start;

static void *map32(u64 size)
{
	/* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT */
	long p = sys6(9, 0, size, 3, 0x22 | 0x40, -1, 0);
	if (p < 0 || (u64)p >= (1UL << 32)) {
		h_str("harness: mmap below 4 GiB failed\n"); flush(); sys6(231, 2, 0, 0, 0, 0, 0);
	}
	return (void *)p;
}

static void setup_tls(void)
{
	const phdr *ph = (const phdr *)((const char *)&__ehdr_start + __ehdr_start.phoff);
	for (int i = 0; i < __ehdr_start.phnum; i++) {
		if (ph[i].type != 7) continue;
		u64 align = ph[i].align ? ph[i].align : 1;
		u64 sz = (ph[i].memsz + align - 1) & ~(align - 1);
		char *mem = map32(sz + align + 4096);
		char *block = (char *)(((u64)mem + align - 1) & ~(align - 1));
		const char *init = (const char *)ph[i].vaddr;
		for (u64 j = 0; j < ph[i].filesz; j++) block[j] = init[j];
		char *tp = block + sz;
		*(u64 *)tp = (u64)tp;
		sys6(158, 0x1002, (long)tp, 0, 0, 0, 0); /* arch_prctl(ARCH_SET_FS) */
		return;
	}
	char *tp = map32(4096);
	*(u64 *)tp = (u64)tp;
	sys6(158, 0x1002, (long)tp, 0, 0, 0, 0);
}

void halite_enter(void (*fn)(void), void *stack_top); /* trampoline.S */

void harness_start(void)
{
	setup_tls();
	u64 ssize = 64UL << 20;
	char *stack = map32(ssize);
	halite_enter(halite_main, stack + ssize);
	flush();
	sys6(231, 0, 0, 0, 0, 0, 0);
}
