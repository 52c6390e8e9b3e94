/* order_rpath / order_runpath: libpick.so is both in the RPATH or RUNPATH
   directory and in the library path. */
int pick(void);
int main(void) { return pick(); }
