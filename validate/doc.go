// Package validate is halite's SFI validator, the trusted core of the
// sandbox: it decides, before any byte may execute, whether x86-64 code
// obeys Native Client's x86-64 software-fault-isolation rules (profile
// NaCl) or those rules plus the thread-pointer read `mov %fs:0x0,%reg64`
// (profile Halite).
//
// Code is checked as a chunk loaded at a 32-byte aligned address, in
// 32-byte bundles, with the package's own table-driven decoder (x86asm is
// used only to disassemble instructions named in violations). A Verdict
// lists every violation with its offset, a stable Rule, a message and the
// disassembly, and records the set of valid direct-jump targets.
//
// The package owns decoding and rule checking. It never loads, maps or runs
// code: callers (the loader, the sandbox) must validate a private copy of
// the bytes they then make executable.
package validate
