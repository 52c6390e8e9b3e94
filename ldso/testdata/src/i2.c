/* libi2.so: its own call to which() binds to libi1's definition, and
   shared_data binds to the executable's copy. */
int which(void) { return 2; }
int shared_data = 42;
int callwhich(void) { return which() + shared_data; }
