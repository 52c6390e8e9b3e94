/* The little libc SQLite needs in the base-0 harness (built with
 * SQLITE_OS_OTHER, memsys5 over a static heap and in-memory databases),
 * and a minimal VFS: no files, deterministic randomness and time. */
#include "sqlite3.h"
typedef unsigned long size_t;

size_t strlen(const char *s) { const char *p = s; while (*p) p++; return p - s; }
int strcmp(const char *a, const char *b) { while (*a && *a == *b) a++, b++; return (unsigned char)*a - (unsigned char)*b; }
int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
		if (!*a) return 0;
	}
	return 0;
}
char *strrchr(const char *s, int c) { const char *r = 0; do { if (*s == (char)c) r = s; } while (*s++); return (char *)r; }
size_t strcspn(const char *s, const char *rej)
{
	size_t n = 0;
	for (; s[n]; n++) for (const char *r = rej; *r; r++) if (s[n] == *r) return n;
	return n;
}
/* memsys5 serves all allocations; these are never called. */
void *malloc(size_t n) { (void)n; return 0; }
void free(void *p) { (void)p; }
void *realloc(void *p, size_t n) { (void)p; (void)n; return 0; }

static int xOpen(sqlite3_vfs *v, const char *z, sqlite3_file *f, int fl, int *o) { (void)v; (void)z; (void)f; (void)fl; (void)o; return SQLITE_CANTOPEN; }
static int xDelete(sqlite3_vfs *v, const char *z, int s) { (void)v; (void)z; (void)s; return SQLITE_OK; }
static int xAccess(sqlite3_vfs *v, const char *z, int f, int *r) { (void)v; (void)z; (void)f; *r = 0; return SQLITE_OK; }
static int xFullPathname(sqlite3_vfs *v, const char *z, int n, char *out)
{
	(void)v;
	int i = 0;
	for (; z[i] && i < n - 1; i++) out[i] = z[i];
	out[i] = 0;
	return SQLITE_OK;
}
static unsigned long rnd = 88172645463325252UL;
static int xRandomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	for (int i = 0; i < n; i++) { rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17; out[i] = (char)rnd; }
	return n;
}
static int xSleep(sqlite3_vfs *v, int us) { (void)v; return us; }
static int xCurrentTime(sqlite3_vfs *v, double *t) { (void)v; *t = 2460000.5; return SQLITE_OK; }
static int xGetLastError(sqlite3_vfs *v, int n, char *z) { (void)v; (void)n; (void)z; return 0; }
static int xCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; *t = 212540000000000LL; return SQLITE_OK; }

static sqlite3_vfs vfs = {
	2, 0, 512, 0, "halite-none", 0,
	xOpen, xDelete, xAccess, xFullPathname, 0, 0, 0, 0,
	xRandomness, xSleep, xCurrentTime, xGetLastError, xCurrentTimeInt64, 0, 0, 0,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&vfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }
