/* A module that defines no dynamic symbol of its own: its GNU hash table
   hashes nothing, yet its relocations name the undefined symbols it calls. */
extern void ext_log(const char *);
extern void ext_other(int);
__attribute__((visibility("hidden"))) int counter;
__attribute__((constructor)) static void ctor(void) { ext_log("ctor"); ext_other(++counter); }
__attribute__((destructor)) static void dtor(void) { ext_log("dtor"); }
