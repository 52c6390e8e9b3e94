/* libleaf.so: the end of a dependency chain (lives in deep/). */
int leaf(void) { return 1; }
