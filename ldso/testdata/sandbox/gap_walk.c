/* dl_iterate_phdr whose callback stops at the first object until the
 * host says go on (walk_release), so that objects can be closed mid-walk. */
#include <halite.h>

volatile long walk_started, walk_release;
static long seen;

static int cb(struct dl_phdr_info *info, __SIZE_TYPE__ size, void *data) {
	(void)info; (void)size; (void)data;
	if (seen == 0) {
		walk_started = 1;
		while (walk_release == 0) {
		}
	}
	seen++;
	return 0;
}

long walk(void) {
	seen = 0;
	dl_iterate_phdr(cb, 0);
	return seen;
}

static int stop_at_first(struct dl_phdr_info *info, __SIZE_TYPE__ size, void *data) {
	(void)info; (void)size; (void)data;
	return 7;
}

/* A walk the callback ends at once: dl_iterate_phdr returns 7. */
long walk_first(void) {
	return dl_iterate_phdr(stop_at_first, 0);
}
