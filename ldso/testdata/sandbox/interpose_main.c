/* Needs libinterpose1 then libinterpose2: who() binds to the first. */
extern long who(void);
long call_who(void) { return who(); }
