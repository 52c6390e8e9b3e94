#include "harness/harness.h"
/* Floating point: a small n-body simulation (SSE2 arithmetic, sqrt). */
#define NB 5
static inline double sq(double x) { double r; __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x)); return r; }
struct body { double x, y, z, vx, vy, vz, m; };
static struct body b[NB] = {
	{ 0, 0, 0, 0, 0, 0, 39.47841760435743 },
	{ 4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037 },
	{ 8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011 },
	{ 12.89, -15.11, -0.22, 1.08, 0.868, -0.01, 0.0017 },
	{ 15.37, -25.91, 0.179, 0.979, 0.594, -0.034, 0.002 },
};
static double energy(void)
{
	double e = 0;
	for (int i = 0; i < NB; i++) {
		e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
		for (int j = i + 1; j < NB; j++) {
			double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			e -= b[i].m * b[j].m / sq(dx * dx + dy * dy + dz * dz);
		}
	}
	return e;
}
__attribute__((noinline)) static void advance(double dt)
{
	for (int i = 0; i < NB; i++)
		for (int j = i + 1; j < NB; j++) {
			double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			double d2 = dx * dx + dy * dy + dz * dz;
			double mag = dt / (d2 * sq(d2));
			b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
			b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
		}
	for (int i = 0; i < NB; i++) { b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz; }
}
void halite_main(void)
{
	h_str("e0 "); h_f64(energy()); h_nl();
	for (int i = 0; i < 2000000; i++) advance(0.01);
	h_str("e1 "); h_f64(energy()); h_nl();
}
