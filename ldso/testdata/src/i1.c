/* libi1.so: comes first in the scope, so its which() interposes libi2's,
   although it is only a weak definition (glibc, without LD_DYNAMIC_WEAK,
   takes the first definition in scope order, weak or not). */
__attribute__((weak)) int which(void) { return 1; }
