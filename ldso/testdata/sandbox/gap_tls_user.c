/* Looks gap_tv (in its dependency libgap_tls.so) up with dlsym(RTLD_DEFAULT),
 * dlsym(RTLD_NEXT) and dlvsym: each must be this thread's copy. */
#include <halite.h>

extern __thread long gap_tv;

/* 0 if all three give &gap_tv, else a bit per lookup that did not
 * (1 RTLD_DEFAULT, 2 RTLD_NEXT, 4 dlvsym). */
long tls_lookups(void) {
	long *self = &gap_tv, bad = 0;
	if ((long *)dlsym(RTLD_DEFAULT, "gap_tv") != self) bad |= 1;
	if ((long *)dlsym(RTLD_NEXT, "gap_tv") != self) bad |= 2;
	void *h = dlopen("libgap_tls.so", RTLD_NOW | RTLD_NOLOAD);
	if (h == 0 || (long *)dlvsym(h, "gap_tv", "ANY") != self) bad |= 4;
	return bad;
}

/* A thread the test keeps alive while it looks gap_tv up from Go. */
volatile long hold;

long hold_thread(void) {
	while (hold == 0) {
	}
	return 0;
}
