// Trusted code that runs on raw untrusted threads (never on a Go stack),
// and the parent side of clone. See runtime-notes.md for why every detail
// is the way it is.

#include "textflag.h"
#include "ctx_amd64.h"

// mov %gs:0, %r11  (the thread's trusted context; %gs is set by the runtime)
#define LOAD_CTX BYTE $0x65; BYTE $0x4c; BYTE $0x8b; BYTE $0x1c; BYTE $0x25; LONG $0

// futex(&ctx.state, FUTEX_WAKE_PRIVATE, 1); clobbers AX, CX, DI, SI, DX, R11
#define WAKE_STATE(reg) LEAQ CTX_STATE(reg), DI; MOVL $129, SI; MOVL $1, DX; MOVL $202, AX; SYSCALL

// rawcode is not a function: it is a table of entry points (one JMP every
// 16 bytes, decoded by rawEntries in Go) followed by the code. The whole
// symbol [rawcode, rawEnd) is the instruction-pointer range the per-thread
// seccomp filter allows syscalls from.
TEXT ·rawcode(SB), NOSPLIT|NOFRAME, $0-0
	JMP childStart
	PCALIGN $16
	JMP hostStub
	PCALIGN $16
	JMP sigHandler
	PCALIGN $16
	JMP sigRestorer
	PCALIGN $16
	JMP exitStub
	PCALIGN $16
	JMP retStub
	PCALIGN $16
	JMP rawEnd
	PCALIGN $16

// Child side of clone: R12 = context, all signals blocked, rsp = the
// sandbox stack with the return trampoline's address on top.
childStart:
	// arch_prctl(ARCH_SET_GS, ctx)
	MOVL $1, R13
	MOVL $158, AX
	MOVL $0x1001, DI
	MOVQ R12, SI
	SYSCALL
	TESTQ AX, AX
	JNE setupFail
	// sigaltstack(&ctx.sigstk, NULL)
	MOVL $2, R13
	MOVL $131, AX
	LEAQ CTX_SIGSTK(R12), DI
	XORL SI, SI
	SYSCALL
	TESTQ AX, AX
	JNE setupFail
	// rt_sigprocmask(SIG_SETMASK, &ctx.mask, NULL, 8): only the
	// synchronous signals and the stop signal are unblocked.
	MOVL $3, R13
	MOVL $14, AX
	MOVL $2, DI
	LEAQ CTX_MASK(R12), SI
	XORL DX, DX
	MOVL $8, R10
	SYSCALL
	TESTQ AX, AX
	JNE setupFail
	// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	MOVL $4, R13
	MOVL $157, AX
	MOVL $38, DI
	MOVL $1, SI
	XORL DX, DX
	XORL R10, R10
	XORL R8, R8
	SYSCALL
	TESTQ AX, AX
	JNE setupFail
	// seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) -- this thread only.
	MOVL $5, R13
	MOVL $317, AX
	MOVL $1, DI
	XORL SI, SI
	MOVQ CTX_PROG(R12), DX
	SYSCALL
	TESTQ AX, AX
	JNE setupFail
	// Enter sandboxed code: arguments, %r15 = base, everything else zero.
	// A parked thread reused for a new start comes here too (resume).
enter:
	BYTE $0xdb; BYTE $0xe3 // fninit: x87 state as for a fresh thread
	LDMXCSR CTX_MXCSR(R12)
	MOVQ (CTX_INIT+0)(R12), DI
	MOVQ (CTX_INIT+8)(R12), SI
	MOVQ (CTX_INIT+16)(R12), DX
	MOVQ (CTX_INIT+24)(R12), CX
	MOVQ (CTX_INIT+32)(R12), R8
	MOVQ (CTX_INIT+40)(R12), R9
	MOVQ CTX_BASE(R12), R15
	MOVL CTX_AVX(R12), AX
	TESTL AX, AX
	JEQ noavx
	VZEROALL
	JMP cleared
noavx:
	PXOR X0, X0
	PXOR X1, X1
	PXOR X2, X2
	PXOR X3, X3
	PXOR X4, X4
	PXOR X5, X5
	PXOR X6, X6
	PXOR X7, X7
	PXOR X8, X8
	PXOR X9, X9
	PXOR X10, X10
	PXOR X11, X11
	PXOR X12, X12
	PXOR X13, X13
	PXOR X14, X14
	PXOR X15, X15
cleared:
	XORL AX, AX
	XORL BX, BX
	XORL BP, BP
	XORL R10, R10
	XORL R11, R11
	XORL R12, R12
	XORL R13, R13
	XORL R14, R14
	// jmp *%gs:CTX_ENTRY
	BYTE $0x65; BYTE $0xff; BYTE $0x24; BYTE $0x25; LONG $CTX_ENTRY

setupFail:
	MOVQ AX, CTX_SETUPRC(R12)
	MOVL R13, CTX_SETUPSTEP(R12)
	MOVL $STATE_SETUPFAIL, AX
	XCHGL AX, CTX_STATE(R12)
	WAKE_STATE(R12)
	JMP exitStub

// Host-call stub, reached from a trampoline with AX = call number, the
// arguments in DI, SI, DX, R10, R8, R9 and the (untrusted) return address
// on the sandbox stack. Uses no stack. Clobbers AX (result), CX, R11.
hostStub:
	LOAD_CTX
	MOVQ AX, CTX_NR(R11)
	MOVQ DI, (CTX_ARGS+0)(R11)
	MOVQ SI, (CTX_ARGS+8)(R11)
	MOVQ DX, (CTX_ARGS+16)(R11)
	MOVQ R10, (CTX_ARGS+24)(R11)
	MOVQ R8, (CTX_ARGS+32)(R11)
	MOVQ R9, (CTX_ARGS+40)(R11)
	MOVL $STATE_REQ, AX
	XCHGL AX, CTX_STATE(R11)
	MOVL CTX_GOSLEEP(R11), AX
	TESTL AX, AX
	JEQ spin
	// The Go side was asleep: it takes a scheduler wake-up to answer, so
	// spinning would only burn this CPU. Sleep at once.
	WAKE_STATE(R11)
	LOAD_CTX
	JMP sleep
spin:
	MOVL CTX_SPIN(R11), CX
	TESTL CX, CX
	JEQ sleep
spinloop:
	CMPL CTX_STATE(R11), $STATE_REPLY
	JEQ replied
	PAUSE
	DECL CX
	JNE spinloop
sleep:
	MOVL $1, AX
	XCHGL AX, CTX_THRSLEEP(R11)
sleeploop:
	CMPL CTX_STATE(R11), $STATE_REPLY
	JEQ woke
	// futex(&ctx.state, FUTEX_WAIT_PRIVATE, STATE_REQ, NULL)
	LEAQ CTX_STATE(R11), DI
	MOVL $128, SI
	MOVL $STATE_REQ, DX
	XORL R10, R10
	MOVL $202, AX
	SYSCALL
	LOAD_CTX
	JMP sleeploop
woke:
	MOVL $0, CTX_THRSLEEP(R11)
replied:
	MOVL CTX_ACTION(R11), AX
	TESTL AX, AX
	JNE park
	MOVL $STATE_IDLE, CTX_STATE(R11)
	MOVQ (CTX_ARGS+0)(R11), DI
	MOVQ (CTX_ARGS+8)(R11), SI
	MOVQ (CTX_ARGS+16)(R11), DX
	MOVQ (CTX_ARGS+24)(R11), R10
	MOVQ (CTX_ARGS+32)(R11), R8
	MOVQ (CTX_ARGS+40)(R11), R9
	MOVQ CTX_RESULT(R11), AX
	// Masked return: pop the untrusted return address, keep it inside the
	// sandbox and on a bundle boundary.
	MOVQ 0(SP), CX
	ADDQ $8, SP
	ANDL $0xffffffe0, CX
	ADDQ CTX_BASE(R11), CX
	XORL R11, R11
	JMP CX

// Front signal handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS
// and the stop signal. DI = signo, SI = siginfo, DX = ucontext.
sigHandler:
	MOVQ SP, AX
	SUBQ ·sigAreaStart(SB), AX
	CMPQ AX, ·sigAreaSize(SB)
	JCC chain
	// On a trusted signal stack: a raw thread. Confirm with its %gs.
	SUBQ $40, SP
	MOVQ DI, 32(SP)
	MOVQ SI, 24(SP)
	MOVQ DX, 16(SP)
	MOVQ AX, 8(SP)
	MOVQ $0, 0(SP)
	MOVL $158, AX
	MOVL $0x1004, DI // ARCH_GET_GS
	MOVQ SP, SI
	SYSCALL
	MOVQ 0(SP), CX
	MOVQ 8(SP), AX
	MOVQ 16(SP), DX
	MOVQ 24(SP), SI
	MOVQ 32(SP), DI
	ADDQ $40, SP
	MOVQ SLOT_MASK, R11
	ANDQ R11, AX
	ADDQ ·sigAreaStart(SB), AX
	MOVQ AX, R11 // R11 = this slot's context (derived from rsp only)
	MOVQ $0, CTX_FORGED(R11)
	CMPQ CX, R11
	JEQ untrusted
	// %gs does not match the slot: never hand this thread to Go's
	// handler (it would read g from sandbox memory); stop it.
	MOVQ $1, CTX_FORGED(R11)
untrusted:
	// A stop signal counts only if it was meant for the thread's current
	// start (a stale one, sent to an earlier start of this reused thread,
	// or one reaching it parked, is ignored) and %gs is genuine. While a
	// parked thread's context is rewritten for a new start, the
	// generation is replaced first and the kill generation is 0 or stale.
	CMPL DI, $KILLSIG
	JNE record
	CMPQ CTX_FORGED(R11), $0
	JNE record
	CMPL CTX_STATE(R11), $STATE_PARKED
	JEQ ignore
	MOVQ CTX_KILLGEN(R11), CX
	TESTQ CX, CX
	JEQ ignore
	CMPQ CX, CTX_GEN(R11)
	JNE ignore
record:
	MOVLQSX DI, CX
	MOVQ CX, CTX_SIGNO(R11)
	MOVLQSX 8(SI), CX
	MOVQ CX, CTX_CODE(R11)
	MOVQ 16(SI), CX
	MOVQ CX, CTX_ADDR(R11)
	MOVLQSX 24(SI), CX
	MOVQ CX, CTX_SYSNR(R11)
	LEAQ 40(DX), SI
	LEAQ CTX_GREGS(R11), DI
	MOVL $23, CX
	CLD
	REP; MOVSQ
	MOVL $STATE_FAULT, AX
	CMPQ CTX_SIGNO(R11), $KILLSIG
	JNE post
	MOVL $STATE_KILLED, AX
post:
	XCHGL AX, CTX_STATE(R11)
	WAKE_STATE(R11)
	JMP exitStub

chain:
	MOVLQSX DI, CX
	CMPQ CX, $65
	JCC ignore
	LEAQ ·goHandlers(SB), AX
	MOVQ (AX)(CX*8), AX
	CMPQ AX, $1
	JLS ignore
	JMP AX
ignore:
	RET

sigRestorer:
	MOVL $15, AX
	SYSCALL
	INT $3

// Thread exit: SYS_exit (never exit_group). The kernel clears the tid word
// and wakes its joiner.
exitStub:
	MOVL $60, AX
	XORL DI, DI
	SYSCALL
	INT $3

// Return stub, reached from the CallReturn trampoline when the entry
// function returns, AX = its result: record it and park.
retStub:
	LOAD_CTX
	MOVQ AX, CTX_RESULT(R11)
	JMP park

// Park: the thread has left sandboxed code for good (returned, or exit
// was requested); R11 = context. It tells the Go side (waking it only if
// it sleeps), then waits, using no stack, on ctx.go: 1 = resume for a new
// start of the same sandbox (context rewritten by the Go side: new entry,
// arguments, stack, thread pointer), 2 = exit.
park:
	MOVL $STATE_PARKED, AX
	XCHGL AX, CTX_STATE(R11)
	MOVL CTX_GOSLEEP(R11), AX
	TESTL AX, AX
	JEQ parkwait
	WAKE_STATE(R11)
	LOAD_CTX
parkwait:
	MOVL CTX_GO(R11), AX
	CMPL AX, $1
	JEQ resume
	CMPL AX, $2
	JEQ exitStub
	// futex(&ctx.go, FUTEX_WAIT_PRIVATE, ctx.go, NULL)
	MOVL AX, DX
	LEAQ CTX_GO(R11), DI
	MOVL $128, SI
	XORL R10, R10
	MOVL $202, AX
	SYSCALL
	LOAD_CTX
	JMP parkwait
resume:
	MOVL $0, CTX_GO(R11)
	MOVQ R11, R12
	// Flags as for a fresh thread (an earlier start may have left DF, AC
	// or TF set): popf on the top of this slot's trusted signal stack.
	LEAQ SLOT_SIZE(R12), SP
	PUSHQ $2
	POPFQ
	// arch_prctl(ARCH_SET_FS, ctx.fs)
	MOVL $6, R13
	MOVL $158, AX
	MOVL $0x1002, DI
	MOVQ CTX_FS(R12), SI
	SYSCALL
	TESTQ AX, AX
	JNE setupFail
	MOVQ CTX_SP(R12), SP
	JMP enter

rawEnd:
	INT $3

// func rawcodePtr() unsafe.Pointer
TEXT ·rawcodePtr(SB), NOSPLIT, $0-8
	LEAQ ·rawcode(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func rawClone(flags, stack, tidptr, tls, ctx, entry uintptr) int64
//
// Blocks every signal but the synchronous ones (cloneMask), clones, and
// restores the mask in the parent. The child starts with that mask and
// never returns: it jumps to entry with R12 = ctx.
TEXT ·rawClone(SB), NOSPLIT, $32-56
	MOVQ ·cloneMask(SB), AX
	MOVQ AX, 0(SP)
	MOVL $14, AX
	MOVL $2, DI
	LEAQ 0(SP), SI
	LEAQ 8(SP), DX
	MOVL $8, R10
	SYSCALL
	MOVQ flags+0(FP), DI
	MOVQ stack+8(FP), SI
	MOVQ tidptr+16(FP), DX
	MOVQ DX, R10
	MOVQ tls+24(FP), R8
	MOVQ ctx+32(FP), R12
	MOVQ entry+40(FP), R13
	MOVL $56, AX
	SYSCALL
	TESTQ AX, AX
	JNE parent
	JMP R13
parent:
	MOVQ AX, 16(SP)
	MOVL $14, AX
	MOVL $2, DI
	LEAQ 8(SP), SI
	XORL DX, DX
	MOVL $8, R10
	SYSCALL
	MOVQ 16(SP), AX
	MOVQ AX, ret+48(FP)
	RET

// func pauseLoop(n uint32)
TEXT ·pauseLoop(SB), NOSPLIT, $0-4
	MOVL n+0(FP), CX
	TESTL CX, CX
	JEQ done
loop:
	PAUSE
	DECL CX
	JNE loop
done:
	RET
