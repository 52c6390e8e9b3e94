/* Defines who(); first in the scope. */
long who(void) { return 1; }
long who1(void) { return 11; }
