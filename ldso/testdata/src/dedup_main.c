int dup_a(void);
int dup_b(void);
int dup_c(void);
int main(void) { return dup_a() + dup_b() + dup_c() == 6 ? 0 : 1; }
