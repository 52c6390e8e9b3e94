// Package validate is halite's SFI validator, the trusted core of the
// sandbox: it decides, before any byte may execute, whether x86-64 code
// obeys Native Client's x86-64 software-fault-isolation rules (profile
// NaCl) or those rules plus the thread-pointer read `mov %fs:0x0,%reg64`
// (profile Halite).
//
// Code is checked as a chunk loaded at a 32-byte aligned address, bundle
// by bundle (32 bytes), with the package's own decoder: hand-written
// opcode tables (tables.go, vex.go), built into arrays once at start-up,
// that list only the instructions sandboxed code may use: every other
// byte pattern is rejected. Each entry gives the ModRM/immediate layout,
// the legal prefixes, the CPU feature, and which general-purpose register
// the instruction writes and whether the write zero-extends. The rules
// (rules.go) then track, within a bundle, the register restricted by the
// previous instruction (a zero-extending 32-bit write), check memory
// operands (base %r15/%rsp/%rbp/%rip, index only a just-restricted
// register), writes to %r15/%rsp/%rbp, the %rsp/%rbp fix-ups, the masked
// indirect jump and string-instruction superinstructions, and direct jump
// targets once the chunk is decoded. As in NaCl's DFA validator, an
// undecodable or forbidden instruction ends the checking of its bundle
// (later instructions of that bundle are not jump targets); other
// violations are reported and checking goes on. The verdicts agree with
// every case of NaCl's reference test suite (return code and error
// offsets). golang.org/x/arch/x86/x86asm is used only to disassemble the
// instruction named in a violation, and by the tests as an oracle.
//
// Accepted instruction sets: general-purpose, x87, MMX, 3DNow!, SSE to
// SSE4.2, POPCNT/LZCNT/TZCNT, MOVBE, CRC32, CLMUL, and VEX-encoded AVX,
// AVX2, FMA, F16C, BMI1 and BMI2 (no AVX-512, no gathers; AES, SSE4A
// extrq/insertq and clflush are decoded but rejected, as NaCl does).
// VEX instructions the SDM defines for one VEX.W value only (W0/W1) are
// accepted with that value only, and VEX.L = 1 only where a 256-bit form
// exists.
//
// Speed: the common instruction shapes (no legacy prefix, at most a REX
// prefix, a one-byte or 0f opcode whose entry fast.go resolves at
// start-up into a shape: group member, immediate size, REX conditions,
// the register written) are decoded and checked in fastLoop's local
// variables; runs of operand-less one-byte instructions and NaCl's nop
// forms too. Everything else, and every shape whose check needs more
// than a memory operand and one ordinary register write, takes the
// general path (decode + checkInst) before any side effect. The test
// oracle_old_test.go keeps the checker as it was before this fast path;
// TestDiffOldNew and FuzzDiffOldNew require identical verdicts, jump
// targets and per-offset decodes.
//
// A Verdict lists every violation with its offset, a stable Rule, a
// message and the disassembly, and records the set of valid direct-jump
// targets (IsTarget). ELF validates every executable PT_LOAD segment of an
// elfload.Plan.
//
// The package owns decoding and rule checking. It never loads, maps or runs
// code: callers (the loader, the sandbox) must validate a private copy of
// the bytes they then make executable.
package validate
