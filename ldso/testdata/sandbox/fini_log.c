long log_words[16];
long log_n;
void fini_log(long v) { if (log_n < 16) log_words[log_n++] = v; }
