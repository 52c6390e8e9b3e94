/* The small module of scripts/bench-dlopen: depends on libsqlite3.so. */
extern int sqlite3_libversion_number(void);
long sqlite_user_version(void) { return sqlite3_libversion_number(); }
