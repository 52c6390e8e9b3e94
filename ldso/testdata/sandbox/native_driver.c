/*
 * The native side of ldso's glibc comparison (load_native_test.go): runs
 * the operations given as arguments through glibc's dlopen/dlsym/dlvsym/
 * dlclose and prints one line per operation; the Go test runs the same
 * operations through ldso.Loader on halite cc builds and compares.
 *
 *   open PATH FLAGS        -> "handle K" (K: index of the distinct handle),
 *                             "null" (NOLOAD, not loaded) or "error: MSG"
 *   call H SYM ARGS...     -> the unsigned result, or "error: MSG"
 *                             (H: a handle index or "default")
 *   vcall H SYM VERSION    -> the same through dlvsym
 *   read H SYM N           -> N longs at SYM
 *   close H                -> "closed" or "error: MSG"
 *   loaded PATH            -> "yes" or "no" (RTLD_NOLOAD, reference dropped)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long u64;
typedef u64 (*fn6)(u64, u64, u64, u64, u64, u64);

static void *handles[64];
static int nh;

static void *handle(const char *s) {
	if (strcmp(s, "default") == 0) return RTLD_DEFAULT;
	int k = atoi(s);
	return (k >= 0 && k < nh) ? handles[k] : NULL;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc;) {
		const char *op = argv[i++];
		if (strcmp(op, "open") == 0 && i + 1 < argc) {
			const char *p = argv[i++];
			int fl = atoi(argv[i++]);
			void *x = dlopen(p, fl);
			if (x == NULL) {
				const char *e = dlerror();
				if (e) printf("error: %s\n", e); else printf("null\n");
				continue;
			}
			int k;
			for (k = 0; k < nh && handles[k] != x; k++) {}
			if (k == nh && nh < 64) handles[nh++] = x;
			printf("handle %d\n", k);
		} else if ((strcmp(op, "call") == 0 || strcmp(op, "vcall") == 0) && i + 1 < argc) {
			void *h = handle(argv[i++]);
			const char *sym = argv[i++];
			void *f;
			if (op[0] == 'v') f = dlvsym(h, sym, argv[i++]); else f = dlsym(h, sym);
			u64 a[6] = {0};
			int n = 0;
			if (op[0] != 'v') {
				while (i < argc && n < 6 && (argv[i][0] == '-' || (argv[i][0] >= '0' && argv[i][0] <= '9'))) a[n++] = strtoull(argv[i++], NULL, 0);
			}
			if (f == NULL) { printf("error: %s\n", dlerror()); continue; }
			printf("%lu\n", ((fn6)f)(a[0], a[1], a[2], a[3], a[4], a[5]));
		} else if (strcmp(op, "read") == 0 && i + 2 < argc) {
			void *h = handle(argv[i++]);
			long *p = dlsym(h, argv[i++]);
			int n = atoi(argv[i++]);
			if (p == NULL) { printf("error: %s\n", dlerror()); continue; }
			for (int j = 0; j < n; j++) printf("%s%ld", j ? " " : "", p[j]);
			printf("\n");
		} else if (strcmp(op, "close") == 0 && i < argc) {
			if (dlclose(handle(argv[i++])) != 0) printf("error: %s\n", dlerror()); else printf("closed\n");
		} else if (strcmp(op, "loaded") == 0 && i < argc) {
			void *x = dlopen(argv[i++], RTLD_NOW | RTLD_NOLOAD);
			printf("%s\n", x ? "yes" : "no");
			if (x) dlclose(x);
		} else {
			printf("bad operation %s\n", op);
			return 2;
		}
	}
	return 0;
}
