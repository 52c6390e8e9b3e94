#include "calc.h"
long util_scale(long x) { return x * SCALE; }
