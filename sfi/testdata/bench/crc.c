#include "harness/harness.h"
/* Table-driven CRC-32 over a 16 MiB buffer, 8 passes (loads through
 * sandboxed pointers). */
static unsigned tab[256];
static unsigned char buf[16 << 20];
__attribute__((noinline)) static unsigned crc(const unsigned char *p, unsigned long n, unsigned c)
{
	c = ~c;
	while (n--) c = tab[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}
void halite_main(void)
{
	for (unsigned i = 0; i < 256; i++) {
		unsigned c = i;
		for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		tab[i] = c;
	}
	unsigned x = 7;
	for (unsigned long i = 0; i < sizeof buf; i++) { x = x * 1664525u + 1013904223u; buf[i] = (unsigned char)(x >> 24); }
	unsigned c = 0;
	for (int pass = 0; pass < 8; pass++) c = crc(buf, sizeof buf, c);
	h_str("crc "); h_hex(c); h_nl();
}
