/* Native reference for scripts/bench-threads: mean time of one
 * pthread_create + pthread_join of a thread that returns at once.
 * Prints "native_create_join_us=X" for N iterations (argv[1]). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *body(void *arg) { return arg; }

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 2000;
	if (n <= 0) return 2;
	struct timespec a, b;
	for (int warm = 0; warm < 50; warm++) {
		pthread_t t;
		if (pthread_create(&t, NULL, body, NULL) != 0) return 1;
		pthread_join(t, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, body, NULL) != 0) { perror("pthread_create"); return 1; }
		if (pthread_join(t, NULL) != 0) return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n;
	printf("native_create_join_us=%.2f\n", us);
	return 0;
}
