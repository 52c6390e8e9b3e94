/* A TLS variable for gap_tls_user.c's lookups. */
__thread long gap_tv = 7;
