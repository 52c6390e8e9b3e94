/* A module whose constructor dlopens libsub.so by name: found through its
 * own RUNPATH ($ORIGIN/sub), i.e. the loader searches on behalf of the
 * calling object. */
#include <halite.h>

static void *h;

__attribute__((constructor)) static void init(void) { h = dlopen("libsub.so", RTLD_NOW); }

long ctor_result(void) {
	if (!h) return -1;
	long (*f)(long, long) = (long (*)(long, long))dlsym(h, "dep_mul");
	return f ? f(2, 3) : -2;
}

/* Leaves an error pending in the calling thread. */
long make_error(void) { return dlsym(RTLD_DEFAULT, "no_such_symbol") == 0; }

/* 1 if the calling thread has a pending error. */
long has_error(void) { return dlerror() != 0; }

/* dlsym of a thread-local variable: its address in this thread. Returns
 * the variable after two increments through two lookups (79 on a fresh
 * thread), or a negative value. */
long tls_via_dlsym(void) {
	if (!h) return -1;
	long *p = (long *)dlsym(h, "dep_tls");
	if (!p) return -2;
	++*p;
	long *q = (long *)dlsym(h, "dep_tls");
	if (q != p) return -3;
	return ++*q;
}
