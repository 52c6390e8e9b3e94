/* A function that calls dlopen: a constructor of another object
 * (gap_ctor_via.c) reaches dlopen through it. */
#include <halite.h>

long open_dep(void) {
	void *h = dlopen("libctor_dep.so", RTLD_NOW);
	if (h == 0) return -2;
	long (*f)(void) = (long (*)(void))dlsym(h, "dep_val");
	return f ? f() : -3;
}
