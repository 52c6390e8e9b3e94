/* Built natively (not with halite cc): a raw syscall, which the validator refuses. */
long getpid_raw(void) { long r; __asm__ volatile("syscall" : "=a"(r) : "a"(39L) : "rcx", "r11", "memory"); return r; }
