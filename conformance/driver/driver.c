/*
 * The native conformance driver: runs one scenario's operations through
 * glibc's dlopen, dlsym, dlvsym, dlclose, dlerror and pthreads, and prints
 * the scenario log on stdout.
 *
 * Input (stdin), one operation per line, fields separated by tabs:
 *   ECHO  THREAD  KIND  ARGS...
 * ECHO is the log prefix written by the Go side (conformance.Op.Echo);
 * THREAD is "-" for the main thread or a thread name; KIND and ARGS are:
 *   open NAME PATH FLAGS      FLAGS a decimal number; PATH "NULL" = dlopen(NULL)
 *   sym NAME HANDLE SYMBOL     HANDLE a handle name, "default" or "next"
 *   vsym NAME HANDLE SYMBOL VERSION
 *   call SYM | read SYM | write SYM N | close HANDLE | same A B
 *   loaded PATH | thread T | join T | echo TEXT
 *   wait T | pending T | sleep MS | until SYM
 * THREAD "&T" runs the operation on T without waiting ("start" in the
 * language): its result line is kept and printed by "wait T".
 * Every operation prints exactly one line "ECHO: RESULT"; constructors and
 * destructors print "log: TEXT" through conf_log, which this program exports
 * (it is linked with a dynamic list naming only conf_log). After the last
 * operation it prints "exit" and calls exit(0), so destructors that run at
 * exit are logged too.
 *
 * The output mentions no pointer value and nothing glibc-specific except the
 * text of dlerror() messages (normalised by the Go side).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAMES 512
#define MAX_THREADS 16
#define MAX_LINE 4096
#define MAX_FIELDS 8

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void emit(const char *a, const char *b) {
	char buf[MAX_LINE + 64];
	size_t n = 0;
	for (; a && *a && n < sizeof buf - 2; a++) {
		buf[n++] = (*a == '\n') ? ' ' : *a;
	}
	for (; b && *b && n < sizeof buf - 2; b++) {
		buf[n++] = (*b == '\n') ? ' ' : *b;
	}
	buf[n++] = '\n';
	pthread_mutex_lock(&out_mu);
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(1, buf + off, n - off);
		if (w <= 0) break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&out_mu);
}

/* conf_log is what scenario modules call to log a line. */
void conf_log(const char *msg) { emit("log: ", msg); }

struct name {
	char key[64];
	void *val;
};
static struct name names[MAX_NAMES];
static int nnames;
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;

static struct name *lookup(const char *key, int create) {
	pthread_mutex_lock(&names_mu);
	struct name *r = NULL;
	for (int i = 0; i < nnames; i++) {
		if (strcmp(names[i].key, key) == 0) {
			r = &names[i];
			break;
		}
	}
	if (!r && create && nnames < MAX_NAMES && strlen(key) < sizeof names[0].key) {
		r = &names[nnames++];
		strcpy(r->key, key);
		r->val = NULL;
	}
	pthread_mutex_unlock(&names_mu);
	return r;
}

/* When a thread runs an operation started with "start", its result line is
 * kept here (per thread) instead of being printed. */
static __thread char *capture;

static void result_line(const char *echo, const char *buf) {
	if (capture) {
		snprintf(capture, MAX_LINE, "%s%s", echo, buf);
		return;
	}
	emit(echo, buf);
}

static void result_err(const char *echo, const char *what) {
	char buf[MAX_LINE];
	snprintf(buf, sizeof buf, ": error: %s", what ? what : "(no dlerror message)");
	result_line(echo, buf);
}

static void result(const char *echo, const char *what) {
	char buf[MAX_LINE];
	snprintf(buf, sizeof buf, ": %s", what);
	result_line(echo, buf);
}

static void *handle_arg(const char *s, int *ok) {
	*ok = 1;
	if (strcmp(s, "default") == 0) return RTLD_DEFAULT;
	if (strcmp(s, "next") == 0) return RTLD_NEXT;
	struct name *n = lookup(s, 0);
	if (!n) {
		*ok = 0;
		return NULL;
	}
	return n->val;
}

/* execute runs one operation on the calling thread. */
static void execute(char **f, int nf) {
	const char *echo = f[0];
	const char *kind = f[2];
	char buf[256];
	if (strcmp(kind, "open") == 0 && nf == 6) {
		const char *path = strcmp(f[4], "NULL") == 0 ? NULL : f[4];
		void *h = dlopen(path, atoi(f[5]));
		struct name *n = lookup(f[3], 1);
		if (n) n->val = h;
		const char *e = h ? NULL : dlerror();
		if (h) result(echo, "ok");
		else if (e) result_err(echo, e);
		else result(echo, "null");
	} else if ((strcmp(kind, "sym") == 0 && nf == 6) || (strcmp(kind, "vsym") == 0 && nf == 7)) {
		int ok;
		void *h = handle_arg(f[4], &ok);
		struct name *n = lookup(f[3], 1);
		if (!ok || (!h && strcmp(f[4], "default") != 0)) {
			if (n) n->val = NULL;
			result_err(echo, "null handle");
			return;
		}
		dlerror();
		void *p = nf == 6 ? dlsym(h, f[5]) : dlvsym(h, f[5], f[6]);
		const char *e = dlerror();
		if (n) n->val = p;
		if (e) result_err(echo, e);
		else if (!p) result(echo, "null");
		else result(echo, "ok");
	} else if ((strcmp(kind, "call") == 0 || strcmp(kind, "read") == 0) && nf == 4) {
		struct name *n = lookup(f[3], 0);
		if (!n || !n->val) {
			result_err(echo, "null symbol");
			return;
		}
		long v;
		if (kind[0] == 'c') v = ((long (*)(void))n->val)();
		else v = *(long *)n->val;
		snprintf(buf, sizeof buf, "%ld", v);
		result(echo, buf);
	} else if (strcmp(kind, "write") == 0 && nf == 5) {
		struct name *n = lookup(f[3], 0);
		if (!n || !n->val) {
			result_err(echo, "null symbol");
			return;
		}
		/* The line goes out before the store, so that lines printed by
		 * code waiting for this value always follow it. */
		result(echo, "ok");
		*(volatile long *)n->val = strtol(f[4], NULL, 0);
	} else if (strcmp(kind, "close") == 0 && nf == 4) {
		struct name *n = lookup(f[3], 0);
		if (!n || !n->val) {
			result_err(echo, "null handle");
			return;
		}
		if (dlclose(n->val) == 0) result(echo, "ok");
		else result_err(echo, dlerror());
	} else if (strcmp(kind, "same") == 0 && nf == 5) {
		struct name *a = lookup(f[3], 0), *b = lookup(f[4], 0);
		if (!a || !b) {
			result_err(echo, "unknown name");
			return;
		}
		result(echo, a->val == b->val ? "yes" : "no");
	} else if (strcmp(kind, "loaded") == 0 && nf == 4) {
		void *h = dlopen(f[3], RTLD_LAZY | RTLD_NOLOAD);
		if (h) dlclose(h);
		(void)dlerror();
		result(echo, h ? "yes" : "no");
	} else if (strcmp(kind, "echo") == 0 && nf == 4) {
		emit(echo, NULL);
	} else if (strcmp(kind, "sleep") == 0 && nf == 4) {
		usleep((useconds_t)atoi(f[3]) * 1000);
		result(echo, "ok");
	} else if (strcmp(kind, "until") == 0 && nf == 4) {
		struct name *n = lookup(f[3], 0);
		if (!n || !n->val) {
			result_err(echo, "null symbol");
			return;
		}
		for (int i = 0; i < 10000; i++) {
			if (*(volatile long *)n->val != 0) {
				result(echo, "ok");
				return;
			}
			usleep(1000);
		}
		result_err(echo, "timeout");
	} else {
		result_err(echo, "malformed operation");
	}
}

/* A scenario thread runs the operations handed to it, one at a time. */
struct worker {
	char name[64];
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *fields[MAX_FIELDS];
	char line[MAX_LINE];
	int nf;
	int pending; /* 1: an operation waits or runs; 0: idle */
	int async;   /* the pending operation was started with "start" */
	char out[MAX_LINE];
	int quit;
	int used;
};
static struct worker workers[MAX_THREADS];

static void *worker_main(void *arg) {
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->pending && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
		if (w->pending) {
			pthread_mutex_unlock(&w->mu);
			capture = w->async ? w->out : NULL;
			execute(w->fields, w->nf);
			capture = NULL;
			pthread_mutex_lock(&w->mu);
			w->pending = 0;
			pthread_cond_broadcast(&w->cv);
			continue;
		}
		if (w->quit) break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static struct worker *find_worker(const char *name) {
	for (int i = 0; i < MAX_THREADS; i++) {
		if (workers[i].used && strcmp(workers[i].name, name) == 0) return &workers[i];
	}
	return NULL;
}

int main(void) {
	static char line[MAX_LINE];
	while (fgets(line, sizeof line, stdin)) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n') line[--len] = 0;
		if (!len) continue;
		char *f[MAX_FIELDS];
		int nf = 0;
		char *p = line;
		while (nf < MAX_FIELDS) {
			f[nf++] = p;
			char *t = strchr(p, '\t');
			if (!t) break;
			*t = 0;
			p = t + 1;
		}
		if (nf < 3) {
			emit("driver: malformed line", NULL);
			return 2;
		}
		const char *echo = f[0], *thread = f[1], *kind = f[2];
		if (strcmp(kind, "thread") == 0 && nf == 4) {
			struct worker *w = NULL;
			for (int i = 0; i < MAX_THREADS; i++) {
				if (!workers[i].used) {
					w = &workers[i];
					break;
				}
			}
			if (!w || strlen(f[3]) >= sizeof w->name) {
				result_err(echo, "too many threads");
				continue;
			}
			memset(w, 0, sizeof *w);
			strcpy(w->name, f[3]);
			pthread_mutex_init(&w->mu, NULL);
			pthread_cond_init(&w->cv, NULL);
			w->used = 1;
			if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
				w->used = 0;
				result_err(echo, "pthread_create failed");
				continue;
			}
			result(echo, "ok");
		} else if (strcmp(kind, "join") == 0 && nf == 4) {
			struct worker *w = find_worker(f[3]);
			if (!w) {
				result_err(echo, "no such thread");
				continue;
			}
			pthread_mutex_lock(&w->mu);
			w->quit = 1;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			pthread_join(w->tid, NULL);
			w->used = 0;
			result(echo, "ok");
		} else if ((strcmp(kind, "wait") == 0 || strcmp(kind, "pending") == 0) && nf == 4) {
			struct worker *w = find_worker(f[3]);
			if (!w) {
				result_err(echo, "no such thread");
				continue;
			}
			pthread_mutex_lock(&w->mu);
			if (kind[0] == 'p') {
				int busy = w->pending;
				pthread_mutex_unlock(&w->mu);
				result(echo, busy ? "yes" : "no");
				continue;
			}
			while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
			w->async = 0;
			pthread_mutex_unlock(&w->mu);
			emit(w->out, NULL);
		} else if (strcmp(thread, "-") != 0) {
			int async = thread[0] == '&';
			struct worker *w = find_worker(thread + async);
			if (!w) {
				result_err(echo, "no such thread");
				continue;
			}
			pthread_mutex_lock(&w->mu);
			while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
			/* the fields point into line, which the next fgets overwrites:
			 * an asynchronous operation gets its own copy */
			memcpy(w->line, line, sizeof line);
			for (int i = 0; i < nf; i++) w->fields[i] = w->line + (f[i] - line);
			w->nf = nf;
			w->async = async;
			w->out[0] = 0;
			w->pending = 1;
			pthread_cond_broadcast(&w->cv);
			if (!async) {
				while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
			}
			pthread_mutex_unlock(&w->mu);
		} else {
			execute(f, nf);
		}
	}
	emit("exit", NULL);
	exit(0);
}
