/* A thread that runs until told to stop (for TLS loaded while threads run). */
volatile long stop_spinning;
volatile long spinning;
long spin(void) { spinning = 1; while (!stop_spinning) { } return 5; }
