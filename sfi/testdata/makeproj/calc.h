long util_scale(long x);
long calc(long *v, int n);
long fast_sum(const long *v, long n);
