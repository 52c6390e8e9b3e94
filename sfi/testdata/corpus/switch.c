#include "harness/harness.h"
__attribute__((noinline)) long classify(int x, long y)
{
	switch (x) {
	case 0: return y + 1;
	case 1: return y * 7;
	case 2: return y - 13;
	case 3: return y ^ 0x55;
	case 4: return y << 3;
	case 5: return y >> 1;
	case 6: return -y;
	case 7: return y * y;
	case 8: return y % 11;
	case 9: return y | 0x100;
	case 11: return 99;
	case 15: return y + 1000;
	default: return 0;
	}
}
__attribute__((noinline)) const char *name(unsigned c)
{
	switch (c) {
	case 'a': return "alpha"; case 'b': return "bravo"; case 'c': return "charlie";
	case 'd': return "delta"; case 'e': return "echo"; case 'f': return "foxtrot";
	case 'g': return "golf"; default: return "?";
	}
}
void halite_main(void)
{
	long t = 0;
	for (int i = -2; i < 20; i++) t = t * 5 + classify(i, i * 3 + 1);
	h_str("switch "); h_i64(t); h_nl();
	for (char c = 'a'; c <= 'h'; c++) { h_str(name(c)); h_str(" "); }
	h_nl();
}
