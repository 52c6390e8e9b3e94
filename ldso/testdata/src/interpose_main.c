/* Non-PIE: shared_data gets a copy relocation into the executable. */
int callwhich(void);
extern int shared_data;
int main(void) { return callwhich() == 43 && shared_data == 42 ? 0 : 1; }
