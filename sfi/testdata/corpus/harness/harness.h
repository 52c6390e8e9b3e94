/* Output functions the base-0 test harness provides to corpus programs.
 * Corpus programs are libc-free: they define halite_main and print only
 * through these. */
#ifndef HALITE_HARNESS_H
#define HALITE_HARNESS_H
void h_str(const char *s);
void h_i64(long v);
void h_hex(unsigned long v);
void h_f64(double v); /* prints the IEEE bits in hex */
void h_nl(void);
void halite_main(void);
#endif
