/* A constructor that calls dlopen (through libhalite.so) on the same loader. */
#include <halite.h>

long ctor_result = -1;

__attribute__((constructor)) static void init(void) {
	void *h = dlopen("libctor_dep.so", RTLD_NOW);
	if (h == 0) { ctor_result = -2; return; }
	long (*f)(void) = (long (*)(void))dlsym(h, "dep_val");
	ctor_result = f ? f() : -3;
}

long get_ctor_result(void) { return ctor_result; }
