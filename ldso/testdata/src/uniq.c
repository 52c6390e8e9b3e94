/* libuniqx.so and libuniqy.so (built from this file twice): each defines
   the STB_GNU_UNIQUE object u and refers to it through the GOT. Both are
   dlopened RTLD_LOCAL by the program uniq, so neither sees the other,
   yet y's reference binds to x's u: one definition per process. */
__asm__(".globl u\n"
        ".section .bss.u,\"aw\",@nobits\n"
        ".type u, @gnu_unique_object\n"
        ".size u, 4\n"
        "u: .zero 4\n"
        ".text\n");
extern int u;
int *where(void) { return &u; }
