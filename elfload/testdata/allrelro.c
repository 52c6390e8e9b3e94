/* Every writable byte is RELRO (const function-pointer table, GOT, dynamic
   section) and nothing is in .data or .bss: ld ends PT_GNU_RELRO at the page
   boundary, past the writable PT_LOAD segment's p_memsz. */
extern int ext(int);
static int f1(int x) { return x + 1; }
static int f2(int x) { return ext(x) * 2; }
int (*const table[])(int) = { f1, f2 };
int call(int i, int x) { return table[i & 1](x); }
