// Package sandbox is halite's runtime, the second trusted core next to the
// validator: it owns a sandbox's address space, starts the raw untrusted
// threads that run sandboxed code, answers their host calls and survives
// their faults. It never parses ELF files (that is elfload/ldso) and never
// decodes instructions (code is checked by the validate package).
//
// # Address space
//
// New reserves 88 GiB of PROT_NONE, MAP_NORESERVE address space and trims
// it to 40 GiB guard | 4 GiB | 40 GiB guard, the 4 GiB starting at a 4 GiB
// aligned base B (Base). Guest addresses in the API are absolute, in
// [B, B+4 GiB). [B, B+64 KiB) is never mapped; [B+64 KiB, B+128 KiB) holds
// the trampolines; Map, Unmap, Protect, Alloc and MapCode work inside
// [B+128 KiB, B+4 GiB). Unmap puts the PROT_NONE reservation back (the range is
// never released to the host while the sandbox lives). Close stops every
// thread and releases the whole reservation.
//
// No mapping is ever writable and executable: Map/Protect/Alloc refuse
// ProtExec (ErrExec, ErrWX); MapCode is the only way to executable memory.
// It copies the bytes into a private mapping outside the sandbox, makes it
// read-only, validates it (validate.Code with Config.Validate, at the guest
// address it will run at), makes it read+execute and moves it into place
// with mremap. A process-wide validation cache remembers the SHA-256 of
// private copies the validator accepted, keyed with the profile, the
// features and the address modulo 32 (all the verdict depends on); a hit
// skips the validator and installs the same private copy. MapCode hashes
// the private copy 64 KiB at a time as it copies (the bytes hashed are
// the copy's, which nothing else can write, and it is read-only before the
// verdict is used); MapCodeFill lets the caller write the code straight
// into the private copy (no buffer of its own) and hashes it after it was
// made read-only. SHA-256 stays the key: with SHA-NI it is the fastest
// collision-resistant hash in the standard library here. Rejections are never cached; Config.NoValidationCache
// turns the cache off and Sandbox.ValidationStats counts hits, misses and
// validator runs (cache.go). MapCode works on whole pages: page bytes outside the code
// are hlt; existing data in those pages is replaced; overlap with code is
// refused (ErrCode). Code unmapped while threads are alive is retired: no
// new code goes there until the sandbox has no live thread (ErrRetired),
// because a thread preempted inside the old code could resume in the
// middle of a new instruction; Alloc skips retired ranges meanwhile, so a
// range it returns can take code. Committed memory (every accessible page) is bounded by
// Config.MaxMemory.
//
// LoadUint32, StoreUint32, CompareAndSwapUint32, LoadUint64 and
// StoreUint64 access aligned words atomically (futex words, pointers that
// sandboxed threads read concurrently).
//
// Read, Write and ReadString copy between Go and sandbox memory after
// checking bounds (with overflow checks) and the recorded protections; they
// return errors wrapping ErrFault, never fault.
//
// # Threads
//
// Start clones a raw OS thread from assembly (CLONE_VM|FS|FILES|SIGHAND|
// THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID) on a stack inside the
// sandbox, with every signal but the synchronous ones blocked in the parent
// around clone (the child starts with that mask). The child
// sets %gs to its trusted context (arch_prctl), installs its sigaltstack,
// unblocks only SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS and
// StopSignal, sets no_new_privs and a seccomp filter of its own (no TSYNC)
// that allows futex, exit, arch_prctl and rt_sigreturn only from the
// runtime's own assembly (by instruction pointer) and traps everything
// else (SIGSYS, reported as a Fault). It then enters the code with %rdi =
// Arg (Call: the six SysV argument registers), %r15 = B, %fs = FS, the
// return address CallReturn's trampoline on the stack (%rsp = 8 mod 16),
// all other general registers zero and vzeroall. Each thread's trusted
// context and signal stack are one 64 KiB slot of a process-wide mmap'd
// area (MaxProcessThreads slots). Config.MaxThreads bounds the threads of
// one sandbox.
//
// A thread that returns from its entry function or exits (exit, the
// exit trampoline, exit_group) does not end its OS thread: it parks in
// trusted code (no stack use, futex wait on its context) and the sandbox
// keeps it (at most 8 per sandbox, 256 per process) for its next Start,
// which rewrites the context and wakes it instead of cloning: it sets the
// new thread pointer (arch_prctl) and stack and enters like a new thread
// (flags cleared, fninit, MXCSR 0x1f80, general and vector registers
// scrubbed as above; the seccomp filter, signal mask, sigaltstack and %gs
// are the same by construction). Parked threads are reused only by the sandbox
// they ran for, so what a register scrub does not cover (AVX-512 upper
// registers, as for a fresh clone that inherits a Go thread's) never
// crosses sandboxes. Thread.TID is the OS thread's id, so a later Start
// may report the same one. A fault or a stop ends the OS thread
// (SYS_exit); its serving goroutine joins it on the CHILD_CLEARTID word
// (plain FUTEX_WAIT) before freeing the slot, and Close ends the parked
// ones the same way. Every start has a generation number: a stop signal
// is sent only while the start owns the OS thread, and the front handler
// ignores one whose recorded generation is not the current start's (or
// that reaches a parked thread), so a late stop never hits a reuse.
//
// StartWith is Start with StartOptions: Data, a trusted value of the
// starter's that handlers get back with Thread.Data (pthread finds the
// calling thread with it), and OnExit, called on the serving goroutine
// once the thread has ended, before Wait returns (no goroutine per thread
// to reap it).
//
// Call(ctx, addr, args...) runs a function on a fresh thread with a fresh
// 256 KiB stack (and a guard page) and returns its %rax.
//
// # Host calls
//
// Trampolines are 32-byte slots at B+0x10000+32*nr, nr in [0, NumCalls),
// written by the runtime (never validated), mapped read+execute from one
// sealed memfd. A slot loads nr into %eax and jumps through %gs to the
// trusted stub, which stores the number and the arguments (%rdi, %rsi,
// %rdx, %r10, %r8, %r9, as for a Linux syscall) in the context, wakes the
// thread's serving goroutine and waits (it spins briefly only if the Go
// side was awake, else futex), then returns with a masked jump (the return
// address is popped, cut to 32 bits and a bundle boundary, and B added).
// A call clobbers %rax (result), %rcx and %r11 only.
//
// Numbering: 0..1023 are Linux x86-64 syscall numbers with Linux
// semantics and -errno results; unregistered numbers return -ENOSYS.
// Built in: write (1; fds 1 and 2 go to Config.Stdout/Stderr, others
// -EBADF), exit (60; the thread), exit_group (231; the whole run, every
// thread's Wait returns *ExitError), clock_gettime (228). 1024..2047 are
// halite calls: CallThreadPointer (1024) returns the word at %fs:0 inside
// the trampoline without leaving the thread (for nacl-profile code, which
// may not use %fs); CallReturn (1025) ends the thread with %rax as its
// result (a return stub records it and exits without waiting for Go);
// 1026..1039 are reserved; FirstUserCall (1040) and up are free for the
// loader and the threads package. Handle registers (or replaces)
// a handler; handlers run on the thread's serving goroutine, get the
// *Thread (ExitThread, Context, Sandbox) and may block (they should watch
// Thread.Context). A panicking handler ends the run with an error.
//
// # Faults and stopping
//
// The front signal handler is installed once per process for SIGSEGV,
// SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS and StopSignal, with Go's flags
// and mask, after recording Go's handlers. It decides "untrusted thread"
// from facts sandboxed code cannot forge: the stack pointer lies in the
// trusted signal-stack area, and ARCH_GET_GS equals that slot's context.
// Anything else goes to Go's handler with registers untouched (Go's own
// nil-pointer panics keep working). It never dereferences %gs. On an
// untrusted thread it records signal, si_code, address and registers in
// the slot (derived from the stack pointer), wakes the serving goroutine
// and exits the thread. If %gs does not match the slot (only possible if
// sandboxed code ran wrgsbase, which the validator must refuse) the thread
// is stopped the same way, flagged GSForged, and never handed to Go.
//
// A fault ends the run: Wait returns a *Fault (signal, code, address, rip,
// rsp, all registers, and module+offset from Config.Resolve) and every
// other thread of the run is stopped. Cancelling a thread's ctx, Stop or
// Close stop threads with StopSignal (tgkill), which the front handler
// turns into an exit wherever the thread is, including inside a host call.
// Once a run's threads are gone the sandbox accepts new threads.
//
// # Process-wide state
//
// The first New installs the front handler and maps, once for the process
// and never released: the signal-stack area (MaxProcessThreads slots of
// 64 KiB, reserved PROT_NONE, committed per slot on first use and reused),
// the seccomp filter page and the trampolines' sealed memfd. Everything
// else belongs to one Sandbox and is released by Close.
//
// Raw threads are not Go threads: credentials changed later from Go
// (setuid, setgroups, ...) do not reach them, and a signal sent to the
// process may land on one (a SIGSEGV sent with kill then ends that run).
//
// # Partial
//
//   - The host-call round trip crosses threads (futex): on the shared
//     2-vCPU test machine (load 10-13) BenchmarkHostCall measured 4-9 µs,
//     at the floor of a C futex ping-pong measured in the same minutes
//     (10-16 µs) but above the 1 µs goal, which needs both sides running
//     on different CPUs at once. Spinning (Config.Spin, adaptive) is on by
//     default only with at least 4 CPUs. The thread-pointer fast path
//     (about 3-4 ns) meets its goal. Where a round trip goes (perf, same
//     box, load 1-4: 4.8 µs wall, 4.8 µs CPU for both sides, of which
//     4 µs in the kernel): four futex calls (the thread's wake and wait,
//     the serving goroutine's wait and wake, each through the seccomp
//     filter on the thread's side) and two context switches, which is
//     most of it; the stub, the dispatch and the Go scheduler's syscall
//     bookkeeping are a few hundred ns. Neither side can drop a futex
//     call while both may sleep, so below ~4 µs needs both sides on
//     different CPUs at once (spinning), or a handler that runs without
//     Go.
//   - Thread create+join reuses parked OS threads: no clone, seccomp
//     filter (its BPF JIT was a third of the old cost), sigaltstack or
//     exit per start. What is left (about 10-25 µs wall raw, 15-40 µs
//     with pthread's TLS, on the loaded box) is Go scheduling: a new
//     serving goroutine per start, its futex wait, and waking the joiner
//     (closechan, goready, a futex wake of an idle M).
//   - The seccomp filter is defence in depth for validator bugs; the
//     runtime relies on the validator refusing wrfsbase/wrgsbase (the kernel
//     enables FSGSBASE for user code), since trampolines find the stub
//     through %gs.
//   - The virtual file system seen by sandboxed code is the subpackage
//     sandbox/vfs, which registers its calls with Handle (and chains write
//     for fds 1 and 2 to the built-in through Handler).
package sandbox
