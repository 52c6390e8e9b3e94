/* libsonreal.so, whose DT_SONAME is "libsonamed.so.1" at run time. */
int sonreal(void) { return 1; }
