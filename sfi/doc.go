// Package sfi is halite's compiler toolchain (`halite cc`): it drives gcc to
// produce assembly, rewrites that assembly (GNU as AT&T syntax: compiler
// output, hand-written .s/.S files and inline assembly) into the sandbox's
// software-fault-isolation form, assembles it with GNU as in bundle mode,
// links shared objects without start files together with a small support
// library (memcpy, memmove, memset, memcmp), and validates everything it
// writes.
//
// The rewriting follows the NaCl x86-64 rules (see
// shared/design/nacl-x86-64-rules.md): a memory operand whose base is not
// %rsp, %rbp, %r15 or %rip, or that has an index, becomes a zero-extending
// `movl %base32,%r11d` (base only) or `leal M,%r11d` followed by the access
// through (%r15,%r11) in one bundle; writes to %rsp/%rbp become 32-bit
// writes followed by `add %r15`; ret, indirect calls and jumps (register,
// memory or GOT) go through %r11 masked with `and $-32` and `add %r15`;
// calls end at a bundle end (two .nops directives computed by the
// assembler); string instructions get NaCl's %rdi/%rsi prefix; labels whose
// address is taken or exported (jump tables, computed goto, address-taken
// or global functions) start a bundle; a static function that is only
// called directly is not aligned. A locked group that would cross a bundle
// is moved to the next one with long nops sized by labels around it (GNU
// as's own bundle padding is one-byte nops).
//
// Code size (SQLite, scripts/bench-cc): about 19% of the sandboxed .text is
// nops, and what is left is structural. Direct-call padding is fixed by
// layout (the bytes from the previous bundle-aligned point to a call's end
// are a whole number of bundles, so moving the instructions before a call
// behind its padding changes nothing; only moving code from after a call to
// before it would, and in SQLite 3 of 6,535 direct calls are followed by an
// instruction that may move across the call). Filling bundle-crossing holes
// needs instruction sizes, i.e. a second assembly pass; the bound measured
// for moving one following instruction into each hole is 1.3% of .text.
// No sandboxed access in SQLite has a base register zero-extended by the
// preceding instruction (pointers are 64-bit), so that masking shortcut
// would not apply.
//
// sfi is never trusted: a Checker (the validate package's verdict in
// halite cc) decides whether its output is safe, and a violation is
// reported as a toolchain bug. sfi never loads or runs code.
//
// Known limits: libgcc helpers (e.g. __udivti3 for 128-bit division) are not
// provided; setjmp/longjmp must come from a sandbox libc; `ret $n`, 32-bit
// writes to %esp/%ebp and %ah-style registers with %rsp-relative sandboxed
// operands are rejected with the line that holds them.
package sfi
