/* A weak undefined reference with no definition anywhere: binds to 0. */
extern int nowhere(void) __attribute__((weak));
int main(void) { return nowhere ? nowhere() : 0; }
