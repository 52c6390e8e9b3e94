/* ext: the demo's extension module. It needs libgreet.so (DT_NEEDED),
 * prints through it, bumps libgreet's thread-local counter and inspects
 * itself with dladdr and dlsym. */
#include <halite.h>

extern void greet_say(const char *s);
extern long greet_next(void);
extern __thread long greet_count;

static void say_num(const char *label, long v) {
	char b[32];
	int i = 31;
	b[i] = 0;
	b[--i] = '\n';
	do { b[--i] = '0' + v % 10; v /= 10; } while (v && i > 0);
	greet_say(label);
	greet_say(b + i);
}

long ext_main(void) {
	greet_say("ext: hello from inside the sandbox\n");
	long a = greet_next();
	long b = greet_next();
	say_num("ext: greet_next() = ", a);
	say_num("ext: greet_next() = ", b);
	say_num("ext: greet_count (TLS, this thread) = ", greet_count);
	Dl_info di;
	if (dladdr((void *)greet_next, &di) && di.dli_sname) {
		greet_say("ext: dladdr(greet_next) -> ");
		greet_say(di.dli_sname);
		greet_say(" in ");
		greet_say(di.dli_fname);
		greet_say("\n");
	}
	if (!dlsym(RTLD_DEFAULT, "no_such_function")) {
		greet_say("ext: dlerror() after a failed dlsym: ");
		greet_say(dlerror());
		greet_say("\n");
	}
	return a + b;
}
