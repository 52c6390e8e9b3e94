/* scripts/bench-dlopen's native side: the time of one cold dlopen (the
 * first in this process) of argv[1] with RTLD_NOW, in nanoseconds, and the
 * value of argv[2]() as a check. */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv) {
	struct timespec a, b;
	if (argc < 3) return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	void *h = dlopen(argv[1], RTLD_NOW);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (h == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	long (*f)(void) = (long (*)(void))dlsym(h, argv[2]);
	printf("%ld %ld\n", (long)(b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec), f ? f() : -1L);
	return 0;
}
