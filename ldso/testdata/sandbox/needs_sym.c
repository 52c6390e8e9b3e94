/* Needs libprovider.so's provided(), which a replaced build lacks. */
extern long provided(void);
long use_provided(void) { return provided() + 1; }
