/* References foo at its default version when linked. */
extern long foo(void);
long call_foo(void) { return foo(); }
