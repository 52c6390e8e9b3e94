/* The loader's call trampoline (ldso/load_call.go embeds what halite cc
 * -O2 makes of it; TestTrampolineMatchesSource rebuilds and compares).
 * b[0] is the function, b[1..6] its arguments; the result goes to b[7]
 * and b[8] is set to 1 once the function has returned. */
typedef unsigned long u64;
typedef u64 (*fn6)(u64, u64, u64, u64, u64, u64);
void halite_call_trampoline(volatile u64 *b) {
	b[7] = ((fn6)b[0])(b[1], b[2], b[3], b[4], b[5], b[6]);
	b[8] = 1;
}
