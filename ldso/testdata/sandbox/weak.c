/* An undefined weak reference resolves to 0. */
extern long nowhere(void) __attribute__((weak));
extern int nowhere_data __attribute__((weak));
long weak_zero(void) { return (nowhere == 0) + (&nowhere_data == 0); }
