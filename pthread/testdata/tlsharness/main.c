/* Native harness for pthread's __tls_get_addr (see call.S). Reads the
 * runtime object's code from argv[1], lays out a fake sandbox (TCB, DTV,
 * blocks) at a 4 GiB-aligned base, runs the cases, checks the registers,
 * and times the call against a plain SFI load called the same way.
 * argv[3], argv[4]: offsets of _dl_tlsdesc_return and _dl_tlsdesc_dynamic
 * in the code.
 * Output: one line per case "case NAME got=0x.. want=0x.. regs=ok|BAD",
 * then "bench tls_get_addr_ns=X plain_load_ns=Y". Exit 1 on any failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

uint64_t harness_call(uint64_t stub, uint64_t base, uint64_t idx, uint64_t tp, uint64_t *regs);
uint64_t harness_call_desc(uint64_t stub, uint64_t base, uint64_t desc, uint64_t tp, uint64_t *regs);
void harness_loop(uint64_t stub, uint64_t base, uint64_t idx, uint64_t tp, uint64_t n);

#define SIZE (1u << 20)
static uint8_t *B;
static uint64_t base;

static void put64(uint64_t off, uint64_t v) { memcpy(B + off, &v, 8); }

/* Code layout: runtime object at 0x10000; plain_load at 0x11000; callers
 * ("call rel32" ending at a bundle end, then a real ret) at 0x12000 and
 * 0x12040. */
static const uint8_t plain_load[] = {
	0x89, 0xff,                   /* mov %edi,%edi */
	0x49, 0x8b, 0x04, 0x3f,       /* mov (%r15,%rdi,1),%rax */
	0x41, 0x5b,                   /* pop %r11 */
	0x41, 0x83, 0xe3, 0xe0,       /* and $-32,%r11d */
	0x4d, 0x01, 0xfb,             /* add %r15,%r11 */
	0x41, 0xff, 0xe3,             /* jmp *%r11 */
};

static void caller(uint64_t at, uint64_t target) {
	memset(B + at, 0x90, 64);
	uint64_t call = at + 32 - 5;
	B[call] = 0xe8;
	int32_t rel = (int32_t)(target - (call + 5));
	memcpy(B + call + 1, &rel, 4);
	B[at + 32] = 0xc3; /* ret: the harness's own, never validated */
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc < 5) { fprintf(stderr, "usage: harness CODE ITERS DESC_RETURN DESC_DYNAMIC\n"); return 2; }
	uint64_t desc_return = strtoull(argv[3], NULL, 0), desc_dynamic = strtoull(argv[4], NULL, 0);
	FILE *f = fopen(argv[1], "rb");
	if (!f) { perror(argv[1]); return 2; }
	static uint8_t code[4096];
	size_t n = fread(code, 1, sizeof code, f);
	fclose(f);
	long iters = atol(argv[2]);
	for (uint64_t try = 0x100000000ull; try < 0x7f0000000000ull; try += 0x100000000ull * 97) {
		void *p = mmap((void *)try, SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == (void *)try) { B = p; base = try; break; }
		if (p != MAP_FAILED) munmap(p, SIZE);
	}
	if (!B) { fprintf(stderr, "no 4 GiB-aligned address free\n"); return 2; }
	memcpy(B + 0x10000, code, n);
	memcpy(B + 0x11000, plain_load, sizeof plain_load);
	caller(0x12000, 0x10000);
	caller(0x12040, 0x11000);
	caller(0x12080, 0x10000 + desc_return);
	caller(0x120c0, 0x10000 + desc_dynamic);

	/* TCB at 0x20000, DTV (capacity 3) at 0x30000: [-1]=3, [0]=gen,
	 * [1]=block 0x40000, [2]=0, [3]=block 0x41000. */
	uint64_t tp = base + 0x20000, dtv = base + 0x30008;
	put64(0x20000, tp);
	put64(0x20008, dtv);
	put64(0x30000, 3);
	put64(0x30008, 7);
	put64(0x30010, base + 0x40000);
	put64(0x30018, 0);
	put64(0x30020, base + 0x41000);
	struct { const char *name; uint64_t mod, off, want; } cases[] = {
		{"mod1", 1, 0, base + 0x40000},
		{"mod1+off", 1, 0x123, base + 0x40123},
		{"mod3", 3, 8, base + 0x41008},
		{"no-block", 2, 8, 0},
		{"beyond-capacity", 4, 8, 0},
		{"huge-id", 0xffffffff00000001ull, 0, 0},
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t idx = 0x50000 + 16 * i;
		put64(idx, cases[i].mod);
		put64(idx + 8, cases[i].off);
		uint64_t r[16];
		/* %rdi holds an absolute address, as a real caller's lea would give. */
		uint64_t got = harness_call(base + 0x12000, base, base + idx, tp, r);
		/* Preserved: rbx rcx rdx rsi rbp r8 r9 r10 r12 r13 r14 r15 rsp. */
		int regs = r[1] == 0x1111111111111111ull && r[2] == 0x2222222222222222ull &&
		           r[3] == 0x3333333333333333ull && r[4] == 0x4444444444444444ull &&
		           r[7] == 0x5555555555555555ull && r[8] == 0x6666666666666666ull &&
		           r[9] == 0x7777777777777777ull && r[11] == 0x8888888888888888ull &&
		           r[12] == 0x9999999999999999ull && r[13] == 0xaaaaaaaaaaaaaaaaull &&
		           r[14] == base && r[15] + 8 == r[6] + 8 && (uint32_t)r[5] == (uint32_t)(base + idx);
		int ok = got == cases[i].want && regs;
		bad |= !ok;
		printf("case %s got=%#llx want=%#llx regs=%s\n", cases[i].name, (unsigned long long)got,
		       (unsigned long long)cases[i].want, regs ? "ok" : "BAD");
	}
	/* TLSDESC: descriptors at 0x60000 {resolver, arg}; results are offsets
	 * from TP. Preserved: everything but rax and r11. */
	struct { const char *name; uint64_t stub, arg, mod, off, want; } descs[] = {
		{"desc-static", 0x12080, (uint64_t)-0x40, 0, 0, (uint64_t)-0x40},
		{"desc-dyn-mod1", 0x120c0, 0, 1, 0x10, base + 0x40010 - tp},
		{"desc-dyn-mod3", 0x120c0, 0, 3, 0, base + 0x41000 - tp},
		{"desc-dyn-noblock", 0x120c0, 0, 2, 8, -tp},
		{"desc-dyn-beyond", 0x120c0, 0, 9, 8, -tp},
	};
	for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
		uint64_t d = 0x60000 + 32 * i, idx = 0x70000 + 16 * i;
		put64(d, descs[i].stub); /* the resolver field (unused by the harness) */
		if (descs[i].stub == 0x12080) {
			put64(d + 8, descs[i].arg);
		} else {
			put64(idx, descs[i].mod);
			put64(idx + 8, descs[i].off);
			put64(d + 8, base + idx);
		}
		uint64_t r[16];
		uint64_t got = harness_call_desc(base + descs[i].stub, base, base + d, tp, r);
		int regs = r[1] == 0x1111111111111111ull && r[2] == 0x2222222222222222ull &&
		           r[3] == 0x3333333333333333ull && r[4] == 0x4444444444444444ull &&
		           r[5] == 0xbbbbbbbbbbbbbbbbull &&
		           r[7] == 0x5555555555555555ull && r[8] == 0x6666666666666666ull &&
		           r[9] == 0x7777777777777777ull && r[11] == 0x8888888888888888ull &&
		           r[12] == 0x9999999999999999ull && r[13] == 0xaaaaaaaaaaaaaaaaull &&
		           r[14] == base && r[15] == r[6];
		int ok = got == descs[i].want && regs;
		bad |= !ok;
		printf("case %s got=%#llx want=%#llx regs=%s\n", descs[i].name, (unsigned long long)got,
		       (unsigned long long)descs[i].want, regs ? "ok" : "BAD");
	}
	if (iters > 0) {
		put64(0x50000, 1);
		put64(0x50008, 16);
		harness_loop(base + 0x12000, base, base + 0x50000, tp, iters / 10); /* warm up */
		double t0 = now();
		harness_loop(base + 0x12000, base, base + 0x50000, tp, iters);
		double t1 = now();
		harness_loop(base + 0x12040, base, base + 0x40000, tp, iters);
		double t2 = now();
		printf("bench tls_get_addr_ns=%.2f plain_load_ns=%.2f\n", (t1 - t0) / iters, (t2 - t1) / iters);
	}
	return bad;
}
