/* libdup.so, also reached as libdupsym.so (symbolic link) and
   libduphard.so (hard link): one object, three names. */
int dup_a(void) { return 1; }
int dup_b(void) { return 2; }
int dup_c(void) { return 3; }
