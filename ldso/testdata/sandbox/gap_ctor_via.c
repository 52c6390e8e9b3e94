/* A constructor that reaches dlopen through another object's code
 * (open_dep in libgap_opener.so, a DT_NEEDED dependency). */
extern long open_dep(void);

long via_result = -1;

__attribute__((constructor)) static void init(void) { via_result = open_dep(); }

long get_via_result(void) { return via_result; }
