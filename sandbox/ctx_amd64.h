// Layout of the trusted per-thread context (one 4 KiB page at the start of
// each 64 KiB slot of the signal-stack area). Mirrored by the constants in
// ctx.go; TestContextLayout checks that both agree.
#define CTX_SELF 0
#define CTX_BASE 8
#define CTX_STUB 16
#define CTX_ENTRY 24
#define CTX_STATE 32
#define CTX_THRSLEEP 36
#define CTX_GOSLEEP 40
#define CTX_ACTION 44
#define CTX_TID 48
#define CTX_SETUPSTEP 52
#define CTX_NR 56
#define CTX_ARGS 64
#define CTX_RESULT 112
#define CTX_SIGSTK 120
#define CTX_MASK 144
#define CTX_PROG 152
#define CTX_INIT 160
#define CTX_SPIN 208
#define CTX_AVX 212
#define CTX_SIGNO 216
#define CTX_CODE 224
#define CTX_ADDR 232
#define CTX_SYSNR 240
#define CTX_FORGED 248
#define CTX_GREGS 256
#define CTX_SETUPRC 448
#define CTX_RETSTUB 456
#define CTX_GO 464
#define CTX_MXCSR 468
#define CTX_GEN 472
#define CTX_KILLGEN 480
#define CTX_FS 488
#define CTX_SP 496

#define STATE_IDLE 0
#define STATE_REQ 1
#define STATE_REPLY 2
#define STATE_FAULT 3
#define STATE_KILLED 4
#define STATE_SETUPFAIL 5
#define STATE_PARKED 6

#define SLOT_SIZE 65536
#define SLOT_MASK $0xffffffffffff0000
#define KILLSIG 63
