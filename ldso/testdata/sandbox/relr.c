/* Pointers in data: relative relocations (packed with -z pack-relative-relocs). */
static long a = 1, b = 2, c = 3, d = 4;
long *table[] = {&a, &b, &c, &d, &a, &b};
static long *ltable[] = {&a, &b, &c, &d, &a, &b};
long relr_sum(void) { long s = 0; for (int i = 0; i < 6; i++) s += *table[i] + *ltable[i]; return s; }
