/* libpick.so, built twice (rp/ and llp/) with a different PICK value. */
int pick(void) { return PICK; }
