/* General-dynamic TLS (__tls_get_addr) in a module opened while threads run. */
__thread long counter = 100;
long bump(void) { return ++counter; }
