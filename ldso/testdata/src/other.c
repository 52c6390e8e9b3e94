/* lib/libsonamed.so.1: a decoy that a search would find. */
int other(void) { return 7; }
