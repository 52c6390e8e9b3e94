#include "harness/harness.h"
/* A tiny bytecode interpreter with computed goto. */
__attribute__((noinline)) long run(const unsigned char *code, long x)
{
	static void *disp[] = { &&op_inc, &&op_dbl, &&op_dec, &&op_jnz, &&op_halt };
	long acc = x, cnt = 0;
	const unsigned char *pc = code;
	goto *disp[*pc++];
op_inc: acc++; goto *disp[*pc++];
op_dbl: acc *= 2; goto *disp[*pc++];
op_dec: cnt++; goto *disp[*pc++];
op_jnz: if (cnt < 20) pc = code; goto *disp[*pc++];
op_halt: return acc + cnt;
}
void halite_main(void)
{
	static const unsigned char prog[] = { 0, 1, 2, 3, 4 };
	h_str("cgoto "); h_i64(run(prog, 3)); h_nl();
	h_str("cgoto "); h_i64(run(prog, -5)); h_nl();
}
