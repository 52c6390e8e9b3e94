/* Needs libnothere.so, which exists only at link time. */
int nothere(void);
int main(void) { return nothere(); }
