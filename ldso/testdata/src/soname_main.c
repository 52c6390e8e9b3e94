int sonreal(void);
int sonuser(void);
int main(void) { return sonreal() + sonuser() == 3 ? 0 : 1; }
