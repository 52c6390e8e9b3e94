int getp(void);
int main(void) { return getp() == 6 ? 0 : 1; }
