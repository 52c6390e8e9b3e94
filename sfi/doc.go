// Package sfi is halite's compiler toolchain (`halite cc`): it drives gcc to
// produce assembly, rewrites that assembly (GNU as AT&T syntax: compiler
// output, hand-written .s/.S files and inline assembly) into the sandbox's
// software-fault-isolation form, assembles it with GNU as in bundle mode,
// links shared objects without start files together with a small support
// library (memcpy, memmove, memset, memcmp), and validates everything it
// writes.
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
