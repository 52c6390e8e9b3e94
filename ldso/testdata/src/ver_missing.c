/* Linked against version 3; needs baz@VER_3, which the run-time library
   does not define. */
int baz(void);
int main(void) { return baz(); }
