/* libmid.so: needs libleaf.so and has no search path of its own, so it
   finds libleaf only through an RPATH inherited from its loaders. */
int leaf(void);
int mid(void) { return leaf() + 1; }
