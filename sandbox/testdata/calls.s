# SFI-valid test functions for the sandbox runtime (NaCl x86-64 rules;
# the thread-pointer read needs the halite profile). Assembled at test time
# with GNU as; every global symbol is a 32-byte aligned entry point.
	.text
	.bundle_align_mode 5

# hcall NR: host call through the trampoline of NR: a masked indirect call
# placed to end exactly at a bundle end (16 + 6 + 10 bytes), so the return
# address is bundle aligned.
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

# hello(): write(1, "hello, sandbox\n", 15); returns write's result.
entry hello
	movabs $0x0a786f62646e6173, %rax   # "sandbox\n"
	push %rax
	movabs $0x202c6f6c6c656800, %rax   # "\0hello, "
	push %rax
	mov %rsp, %rsi
	add $1, %rsi
	mov $1, %edi
	mov $15, %edx
	hcall 1
	pop %rcx
	pop %rcx
	fret

# add(a, b) = a + b
entry add
	mov %rdi, %rax
	add %rsi, %rax
	fret

# sum6(a..f) = a+b+c+d+e+f (SysV argument registers)
entry sum6
	mov %rdi, %rax
	add %rsi, %rax
	add %rdx, %rax
	add %rcx, %rax
	add %r8, %rax
	add %r9, %rax
	fret

# fib(n): iterative Fibonacci, fib(0) = 0.
entry fib
	xor %eax, %eax
	mov $1, %ecx
1:	test %rdi, %rdi
	jz 2f
	lea (%rax,%rcx), %rdx
	mov %rcx, %rax
	mov %rdx, %rcx
	dec %rdi
	jmp 1b
2:	fret

# regs(): checks the entry state: %r15 low 32 bits zero, rsp = 8 mod 16,
# rax/rbx/rbp/r8..r14 zero. Returns 1 if all hold.
entry regs
	mov %rsp, %rax
	and $15, %eax
	cmp $8, %eax
	jne 9f
	test %r15d, %r15d
	jnz 9f
	or %rbx, %rax
	or %rbp, %rax
	or %r8, %rax
	or %r9, %rax
	or %r10, %rax
	or %r11, %rax
	or %r12, %rax
	or %r13, %rax
	or %r14, %rax
	cmp $8, %rax
	jne 9f
	mov $1, %eax
	fret
9:	xor %eax, %eax
	fret

# tpfast(): the thread pointer via the trampoline fast path.
entry tpfast
	hcall 1024
	fret

# tploop(n): n fast-path calls; returns n.
entry tploop
	mov %rdi, %rbx
1:	hcall 1024
	dec %rbx
	jnz 1b
	mov %rdi, %rax
	fret

# tpread(): mov %fs:0 (halite profile).
entry tpread
	mov %fs:0, %rax
	fret

# hostloop(n, nr): n host calls to call number 1040; returns n.
entry hostloop
	mov %rdi, %r12
	mov %rdi, %rbx
1:	mov %rbx, %rdi
	hcall 1040
	dec %rbx
	jnz 1b
	mov %r12, %rax
	fret

# echo(a..f): host call 1041 with six arguments; returns its result and
# checks that rdi, rsi, rdx, r10, r8, r9 survived (else returns -1).
entry echo
	mov %rcx, %r10
	push %rdi
	push %r9
	hcall 1041
	pop %r11
	cmp %r11, %r9
	jne 9f
	pop %r11
	cmp %r11, %rdi
	jne 9f
	fret
9:	mov $-1, %rax
	pop %r11
	fret

# clock(): clock_gettime(CLOCK_REALTIME) -> seconds.
entry clock
	push $0
	push $0
	mov %rsp, %rsi
	xor %edi, %edi
	hcall 228
	test %rax, %rax
	jnz 9f
	pop %rax
	pop %rcx
	fret
9:	pop %rcx
	pop %rcx
	fret

# nosys(): an unregistered call number.
entry nosys
	hcall 1500
	fret

# badwrite(): write(1, B+0x100 (unmapped), 4) -> -EFAULT; write(5, ...) -> -EBADF
entry badwrite
	mov $0x100, %esi
	add %r15, %rsi
	mov $1, %edi
	mov $4, %edx
	hcall 1
	fret

entry badfd
	mov %rsp, %rsi
	mov $5, %edi
	mov $1, %edx
	hcall 1
	fret

# exitthread(): exit(42)
entry exitthread
	mov $42, %edi
	hcall 60
	ud2

# exitgroup(): exit_group(7)
entry exitgroup
	mov $7, %edi
	hcall 231
	ud2

# spin(): loops forever.
entry spin
1:	jmp 1b

# faults
entry guardlow
	xor %eax, %eax
	.bundle_lock
	mov %eax, %eax
	movq $1, -0x100(%r15,%rax,1)
	.bundle_unlock
	fret

entry guardhigh
	mov $0xffffffff, %eax
	.bundle_lock
	mov %eax, %eax
	movq $1, 0x1001(%r15,%rax,1)
	.bundle_unlock
	fret

entry undef
	ud2

entry divzero
	xor %ecx, %ecx
	xor %edx, %edx
	mov $1, %eax
	div %ecx
	fret

entry badrsp
	.bundle_lock
	xor %esp, %esp
	add %r15, %rsp
	.bundle_unlock
	push %rax
	fret

entry jumpout
	mov $0x40000000, %r11d
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock

entry privileged
	hlt
