/* dlopen(NULL) from a module: the main program's handle, whose dlsym
 * searches the global scope only. */
#include <halite.h>

long main_dep_val(void) {
	void *h = dlopen(0, RTLD_NOW);
	if (h == 0) return -1;
	long (*f)(void) = (long (*)(void))dlsym(h, "dep_val");
	return f ? f() : -2;
}

/* 1 if this (RTLD_LOCAL) module's own symbol is visible through the
 * main program's handle, 0 if not, -1 if dlopen(NULL) failed. */
long main_sees_self(void) {
	void *h = dlopen(0, RTLD_NOW);
	if (h == 0) return -1;
	return dlsym(h, "main_sees_self") != 0;
}

/* dlopen(NULL) twice gives the same handle; dlclose of it succeeds. */
long main_same(void) {
	void *a = dlopen(0, RTLD_NOW), *b = dlopen(0, RTLD_LAZY);
	if (a == 0 || a != b) return 0;
	return dlclose(a) == 0 && dlclose(b) == 0;
}
