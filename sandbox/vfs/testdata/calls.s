# SFI-valid guest functions for the VFS end-to-end tests (NaCl x86-64
# rules). Assembled at test time with GNU as in bundle mode; every global
# symbol is a 32-byte aligned entry point. Host calls go through the
# runtime's trampolines at B + 0x10000 + 32*nr.
	.text
	.bundle_align_mode 5

# hcall NR: a masked call of trampoline NR that ends exactly at a bundle
# end (16 + 6 + 10 bytes), so the return address is bundle aligned.
	.macro hcall nr
	.p2align 5
	.nops 16
	mov $(0x10000 + 32*\nr), %r11d
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	call *%r11
	.bundle_unlock
	.endm

# fret: return without `ret`.
	.macro fret
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.endm

	.macro entry name
	.p2align 5
	.globl \name
\name:
	.endm

# hsys(nr, a1, a2, a3, a4, a5): host call nr with five arguments, the
# trampoline address computed at run time (like a C library's syscall()).
entry hsys
	mov %edi, %r11d
	shl $5, %r11d
	add $0x10000, %r11d
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	.p2align 5
	.nops 22
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	call *%r11
	.bundle_unlock
	fret

# readfile(path, buf, len): openat(AT_FDCWD, path, O_RDONLY), read into
# buf, close; returns read's result, or openat's -errno.
entry readfile
	push %rbx
	push %r12
	push %r13
	mov %rsi, %r12
	mov %rdx, %r13
	mov %rdi, %rsi
	mov $-100, %rdi
	xor %edx, %edx
	hcall 257
	test %rax, %rax
	js 9f
	mov %rax, %rbx
	mov %rbx, %rdi
	mov %r12, %rsi
	mov %r13, %rdx
	hcall 0
	mov %rax, %r12
	mov %rbx, %rdi
	hcall 3
	mov %r12, %rax
9:	pop %r13
	pop %r12
	pop %rbx
	fret

# fstatpath(path, statbuf): openat(AT_FDCWD, path, O_RDONLY), fstat, close;
# returns fstat's result or openat's -errno.
entry fstatpath
	push %rbx
	push %r12
	mov %rsi, %r12
	mov %rdi, %rsi
	mov $-100, %rdi
	xor %edx, %edx
	hcall 257
	test %rax, %rax
	js 9f
	mov %rax, %rbx
	mov %rax, %rdi
	mov %r12, %rsi
	hcall 5
	mov %rax, %r12
	mov %rbx, %rdi
	hcall 3
	mov %r12, %rax
9:	pop %r12
	pop %rbx
	fret
