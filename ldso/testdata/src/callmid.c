/* Executables rpath_inherit (DT_RPATH) and runpath_noinherit (DT_RUNPATH). */
int mid(void);
int main(void) { return mid() == 2 ? 0 : 1; }
