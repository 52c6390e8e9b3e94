/* ver_old (linked against version 1: foo@VER_1) and ver_new (version 2:
   foo@VER_2) both run against version 2. */
int foo(void);
int bar(void);
int main(void) { return foo() + bar(); }
