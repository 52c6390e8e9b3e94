#include "calc.h"
long calc(long *v, int n)
{
	for (int i = 0; i < n; i++) v[i] = util_scale(v[i]);
	return fast_sum(v, n);
}
