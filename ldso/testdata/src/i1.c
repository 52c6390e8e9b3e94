/* libi1.so: comes first in the scope, so its which() interposes. */
int which(void) { return 1; }
