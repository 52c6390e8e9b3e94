/* ext: the demo's extension module. It needs libgreet.so (DT_NEEDED),
 * prints through it, bumps libgreet's thread-local counter, reads a file
 * through the sandbox's VFS and inspects itself with dladdr and dlsym. */
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
	char buf[96];
	long fd = halite_syscall(257, -100, (long)"/demo/message.txt", 0, 0, 0, 0); /* openat, O_RDONLY */
	if (fd >= 0) {
		long n = halite_syscall(0, fd, (long)buf, sizeof buf - 1, 0, 0, 0); /* read */
		halite_syscall(3, fd, 0, 0, 0, 0, 0);                                /* close */
		buf[n > 0 ? n : 0] = 0;
		greet_say("ext: read from the VFS: ");
		greet_say(buf);
	} else {
		say_num("ext: openat(/demo/message.txt) failed: -", -fd);
	}
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
