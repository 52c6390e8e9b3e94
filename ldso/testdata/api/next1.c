/* RTLD_NEXT: which() here, and next_which() finds the next definition. */
#include <halite.h>

long which(void) { return 1; }

long next_which(void) {
	long (*f)(void) = (long (*)(void))dlsym(RTLD_NEXT, "which");
	return f ? f() : -1;
}
