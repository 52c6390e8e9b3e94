#include "harness/harness.h"
#include <stdarg.h>
__attribute__((noinline)) long vsum(int n, ...)
{
	va_list ap; long t = 0;
	va_start(ap, n);
	for (int i = 0; i < n; i++) t += va_arg(ap, long);
	va_end(ap);
	return t;
}
__attribute__((noinline)) double vmix(const char *fmt, ...)
{
	va_list ap; double t = 0;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (*p == 'i') t += va_arg(ap, int);
		else if (*p == 'd') t += va_arg(ap, double);
		else if (*p == 's') t += *va_arg(ap, const char *);
	}
	va_end(ap);
	return t;
}
__attribute__((noinline)) void vprint(int n, ...)
{
	va_list ap, aq;
	va_start(ap, n);
	va_copy(aq, ap);
	for (int i = 0; i < n; i++) { h_i64(va_arg(ap, int)); h_str(","); }
	long s = 0;
	for (int i = 0; i < n; i++) s += va_arg(aq, int);
	h_i64(s); h_nl();
	va_end(aq); va_end(ap);
}
void halite_main(void)
{
	h_str("vsum "); h_i64(vsum(12, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L)); h_nl();
	h_str("vmix "); h_f64(vmix("ididsdiddddddddd", 1, 2.5, 3, 4.25, "A", 1.0, 2, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0)); h_nl();
	vprint(9, 9, 8, 7, 6, 5, 4, 3, 2, 1);
}
