/* Also defines who(); second in the scope. */
long who(void) { return 2; }
