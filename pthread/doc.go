// Package pthread owns threads inside a halite sandbox and their
// thread-local storage: the TCB layout at the thread pointer, the static TLS
// area (with a surplus for initial-exec modules loaded later), module ids
// and the per-thread DTV, the in-sandbox `__tls_get_addr` (delivered as a
// small synthetic runtime object for the loader to link by name), futex
// wait/wake on sandbox addresses, and thread create/exit/join host calls.
//
// It never parses ELF (callers pass a Template taken from elfload's PT_TLS
// plan) and never touches a sandbox's address space except through the
// Memory interface (implemented over sandbox.Sandbox by Install, which also
// maps the runtime object with the sandbox's validate-and-map MapCode).
//
// # For the loader
//
// TLS.Load(name, Template{Init, Memsz, Align, Vaddr}, static) registers a
// module: Module.ID is the DTPMOD64 value, the DTPOFF64 value is the
// symbol's offset in the block, Module.TPOffset the base of TPOFF64 (static
// modules: the executable and its startup dependencies, and dlopened
// modules with initial-exec TLS, DF_STATIC_TLS). TLS.Block gives a thread's
// copy (dlsym of a TLS symbol). TLS.Unload releases the id for reuse.
// System.Symbol("__tls_get_addr") is where references to it bind
// (glibc-built objects ask for __tls_get_addr@GLIBC_2.3).
//
// # Layout (x86-64 psABI, TLS variant II)
//
// Every thread owns one allocation from sandbox memory:
//
//	base                                   TP = base + StaticSize
//	| static TLS area (StaticSize bytes)   | TCB: self | dtv | reserved (Config.TCBReserved) |
//	  ... module 2 block | module 1 block  ^
//
// The thread pointer (%fs base) points at the TCB: the word at TP+0 holds TP
// itself, the word at TP+8 the address of the thread's DTV, and
// Config.TCBReserved bytes follow for a C library's own thread structure.
// Static TLS blocks lie below TP at fixed negative offsets computed with the
// psABI rule offset_m = roundup(offset_{m-1} + memsz_m, align_m) (generalised
// to segments whose p_vaddr is not a multiple of their alignment). TP is
// aligned to Config.MaxStaticAlign (4 KiB by default), so a static block
// with any alignment up to that is aligned in every thread.
//
// The DTV is a separate allocation of 8-byte words: dtv[-1] is its capacity
// (the largest module id it has a slot for), dtv[0] the generation of the
// last update applied to it, dtv[id] the address of module id's block in
// that thread (0 if none). Blocks of a module loaded while threads exist are
// allocated and initialised for every thread before Load returns, and a DTV
// too small for a new id is replaced (copy, then one atomic store of the
// pointer at TP+8; the old copy is freed with the thread), so the
// in-sandbox __tls_get_addr is a pure read: it never allocates, locks or
// fails.
//
// # Threads and host calls
//
// Threads.Start (and the halite host call SysThreadCreate, 1056) set up a
// TCB and TLS and start a raw sandbox thread; tids are per sandbox,
// starting at 1. A tid word given at creation is set before the thread runs
// and, once the raw thread is gone, cleared and futex-woken on the trusted
// side (CLONE_PARENT_SETTID|CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID
// semantics), which is how pthread_join waits. futex (202) is implemented
// entirely in Go: wait queues keyed by guest address, value check and
// enqueue under one lock; WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET,
// WAKE_BITSET, with or without FUTEX_PRIVATE_FLAG (private and shared are
// the same in one sandbox), relative and absolute (CLOCK_MONOTONIC,
// FUTEX_CLOCK_REALTIME) timeouts. gettid (186), set_tid_address (218) and
// sched_yield (24) follow Linux; exit (60) is the sandbox's own builtin.
// Install wires all of this into a sandbox.Sandbox.
//
// Freed thread areas, DTVs and blocks are kept (at most 32 of each size)
// and reused, so creating a thread needs no mmap; everything the runtime
// promises is rewritten on reuse (padding between static blocks is not).
//
// # Deliberate differences and limits
//
// gettid and set_tid_address fail with -ESRCH in threads not started
// through pthread (e.g. sandbox.Call); tids are per sandbox. The static TLS
// space of an unloaded initial-exec module is not reused (glibc does not
// either). Blocks come from whole sandbox pages (sandbox.Alloc's
// granularity).
//
// TLSDESC resolvers (_dl_tlsdesc_return, _dl_tlsdesc_dynamic in the runtime
// object) clobber %r11 besides %rax, unlike glibc's: an SFI return needs a
// register, and an SFI TLSDESC call site (which halite cc must produce:
// `call *(%rax)` is not valid SFI code) has used %r11 for its masked call
// already. The general-dynamic (__tls_get_addr), initial-exec and
// local-exec models need nothing special.
package pthread
