/* libgreet: the library the demo's extension module depends on. It has a
 * thread-local counter and a constructor; it writes through the sandbox's
 * host calls (halite_syscall), without any libc. */
#include <halite.h>

static long slen(const char *s) { long n = 0; while (s[n]) n++; return n; }

void greet_say(const char *s) { halite_syscall(1, 1, (long)s, slen(s), 0, 0, 0); }

/* Each sandbox thread starts with its own copy, initialised to 40. */
__thread long greet_count = 40;
static int greet_ready;

__attribute__((constructor)) static void greet_init(void) {
	greet_ready = 1;
	greet_say("libgreet: constructor ran\n");
}

long greet_next(void) { return greet_ready ? ++greet_count : -1; }
