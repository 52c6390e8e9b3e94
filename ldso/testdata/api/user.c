/* A libc-free module exercising libhalite.so: it writes to stdout, reads a
 * file from the VFS, opens dep.so, calls into it, closes it, and reports
 * dlerror after failures. Every step writes one line; run returns the
 * number of failed checks. */
#include <halite.h>

static long slen(const char *s) { long n = 0; while (s[n]) n++; return n; }
static void put(const char *s) { halite_syscall(1, 1, (long)s, slen(s), 0, 0, 0); }
static void putn(long v) {
	char b[24]; int i = 23; int neg = v < 0;
	unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;
	b[i] = 0;
	do { b[--i] = '0' + u % 10; u /= 10; } while (u);
	if (neg) b[--i] = '-';
	put(b + i);
}

static int count_cb(struct dl_phdr_info *info, __SIZE_TYPE__ size, void *data) {
	long *n = data;
	if (size < sizeof *info || info->dlpi_phnum == 0 || info->dlpi_phdr[0].p_type != 1) return -1;
	if (info->dlpi_tls_modid) { /* an object with TLS lists its PT_TLS */
		int i, tls = 0;
		for (i = 0; i < info->dlpi_phnum; i++) tls |= info->dlpi_phdr[i].p_type == 7;
		if (!tls) return -2;
		if (!info->dlpi_tls_data) return -3; /* this thread's block */
	}
	++*n;
	return 0;
}

long run(const char *file, const char *dep) {
	long bad = 0;
	put("hello from the sandbox\n");
	long fd = halite_syscall(257, -100, (long)file, 0, 0, 0, 0); /* openat(AT_FDCWD, file, O_RDONLY) */
	if (fd < 0) { put("openat failed: "); putn(fd); put("\n"); bad++; }
	else {
		char buf[128];
		long n = halite_syscall(0, fd, (long)buf, sizeof buf - 1, 0, 0, 0);
		if (n < 0) { bad++; n = 0; }
		buf[n] = 0;
		put("file: "); put(buf);
		halite_syscall(3, fd, 0, 0, 0, 0, 0);
	}
	void *h = dlopen(dep, RTLD_NOW);
	if (!h) { put("dlopen: "); put(dlerror()); put("\n"); return bad + 100; }
	long (*mul)(long, long) = (long (*)(long, long))dlsym(h, "dep_mul");
	if (!mul) { put("dlsym: "); put(dlerror()); put("\n"); return bad + 100; }
	put("dep_mul(6, 7) = "); putn(mul(6, 7)); put("\n");
	Dl_info di;
	if (dladdr((void *)mul, &di) && di.dli_sname) { put("dladdr: "); put(di.dli_sname); put("\n"); }
	else bad++;
	long objs = 0;
	if (dl_iterate_phdr(count_cb, &objs) != 0) bad++;
	put("objects: "); putn(objs); put("\n");
	if (dlsym(h, "no_such_symbol")) bad++;
	put("dlerror: "); put(dlerror()); put("\n");
	if (dlerror()) bad++; /* cleared by the previous call */
	if (dlclose(h) != 0) bad++;
	if (dlopen("/no/such/lib.so", RTLD_NOW)) bad++;
	put("dlerror: "); put(dlerror()); put("\n");
	if (dlclose(h) == 0) bad++; /* already closed */
	put("dlerror: "); put(dlerror()); put("\n");
	return bad;
}

/* Hostile pointers: each call must fail cleanly (no fault). Returns the
 * number of calls that did not fail. */
long bad_pointers(void) {
	long bad = 0;
	Dl_info di;
	if (dlopen((const char *)16, RTLD_NOW)) bad++;
	put("dlerror: "); put(dlerror()); put("\n");
	if (dlsym(RTLD_DEFAULT, (const char *)-4096l)) bad++;
	if (!dlerror()) bad++;
	if (dladdr((void *)bad_pointers, (Dl_info *)16)) bad++;
	if (dladdr((void *)16, &di)) bad++;
	if (dlclose((void *)12345)) put("dlclose of a junk handle failed\n"); else bad++;
	return bad;
}

/* dlopen, dlsym, call, dlclose n times (run on several threads at once);
 * returns the number of failed steps. */
long cycle(const char *dep, long n) {
	long bad = 0;
	for (long i = 0; i < n; i++) {
		void *h = dlopen(dep, RTLD_NOW);
		if (!h) { bad++; continue; }
		long (*mul)(long, long) = (long (*)(long, long))dlsym(h, "dep_mul");
		if (!mul || mul(2, 2) < 104) bad++;
		if (dlclose(h)) bad++;
	}
	return bad;
}
