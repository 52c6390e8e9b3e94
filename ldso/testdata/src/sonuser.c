/* libsonuser.so needs "libsonamed.so.1": that name is satisfied by the
   soname of the already-loaded libsonreal.so, not by the different file
   lib/libsonamed.so.1 (other.c). */
int sonreal(void);
int sonuser(void) { return sonreal() + 1; }
