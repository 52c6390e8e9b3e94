/* A shared object for elfload's toolchain test: a table of pointers to
   local data (R_X86_64_RELATIVE relocations, or RELR entries when linked
   with -z pack-relative-relocs), TLS with an initialised and a zero part,
   an undefined symbol referenced through the GOT, and a function. */

static int a, b, c, d;

int *ptrs[64] = {
	&a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d,
	&a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d,
	&a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d,
	&a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d, &a, &b, &c, &d,
};

/* Far away from ptrs, so that RELR needs a second address entry. */
static char gap[4096] = {1};
int *lone = &d;

__thread int tls_init = 0x2a;
__thread int tls_zero;

extern int ext_sym;
int *extp = &ext_sym;

int get(void) { return tls_init + tls_zero + *extp + gap[0]; }
