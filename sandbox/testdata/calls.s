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

# dirty(): leaves every register it may write nonzero (general, %rbp the
# SFI way, %xmm0-15), MXCSR rounding toward zero, the x87 control word
# changed and a value on the x87 stack, and returns -1: a later thread
# running on the same OS thread must see none of it.
entry dirty
	mov $-1, %rax
	mov %rax, %rbx
	mov %rax, %rdx
	mov %rax, %rsi
	mov %rax, %rdi
	mov %rax, %r8
	mov %rax, %r9
	mov %rax, %r10
	mov %rax, %r12
	mov %rax, %r13
	mov %rax, %r14
	.bundle_lock
	mov %eax, %ebp
	add %r15, %rbp
	.bundle_unlock
	pcmpeqd %xmm0, %xmm0
	pcmpeqd %xmm1, %xmm1
	pcmpeqd %xmm2, %xmm2
	pcmpeqd %xmm3, %xmm3
	pcmpeqd %xmm4, %xmm4
	pcmpeqd %xmm5, %xmm5
	pcmpeqd %xmm6, %xmm6
	pcmpeqd %xmm7, %xmm7
	pcmpeqd %xmm8, %xmm8
	pcmpeqd %xmm9, %xmm9
	pcmpeqd %xmm10, %xmm10
	pcmpeqd %xmm11, %xmm11
	pcmpeqd %xmm12, %xmm12
	pcmpeqd %xmm13, %xmm13
	pcmpeqd %xmm14, %xmm14
	pcmpeqd %xmm15, %xmm15
	push $0x7f80
	ldmxcsr (%rsp)
	movl $0x0c7f, (%rsp)
	fldcw (%rsp)
	pop %rcx
	fldpi
	mov %rax, %rcx
	std
	fret

# entrystate(): checks what a thread starts with besides regs(): returns
# 0, or a bit set: 1 a general register other than %rsp/%r15 nonzero,
# 2 an %xmm register nonzero, 4 MXCSR not 0x1f80, 8 x87 status word not
# 0 (stack not empty), 16 x87 control word not 0x37f, 32 DF set.
entry entrystate
	or %rbx, %rax
	or %rcx, %rax
	or %rdx, %rax
	or %rsi, %rax
	or %rdi, %rax
	or %rbp, %rax
	or %r8, %rax
	or %r9, %rax
	or %r10, %rax
	or %r11, %rax
	or %r12, %rax
	or %r13, %rax
	or %r14, %rax
	xor %ebx, %ebx
	test %rax, %rax
	jz 1f
	or $1, %ebx
1:	por %xmm1, %xmm0
	por %xmm2, %xmm0
	por %xmm3, %xmm0
	por %xmm4, %xmm0
	por %xmm5, %xmm0
	por %xmm6, %xmm0
	por %xmm7, %xmm0
	por %xmm8, %xmm0
	por %xmm9, %xmm0
	por %xmm10, %xmm0
	por %xmm11, %xmm0
	por %xmm12, %xmm0
	por %xmm13, %xmm0
	por %xmm14, %xmm0
	por %xmm15, %xmm0
	movq %xmm0, %rax
	pshufd $0xee, %xmm0, %xmm1
	movq %xmm1, %rcx
	or %rcx, %rax
	jz 2f
	or $2, %ebx
2:	push $0
	stmxcsr (%rsp)
	mov (%rsp), %eax
	cmp $0x1f80, %eax
	je 3f
	or $4, %ebx
3:	fnstsw %ax
	test %ax, %ax
	jz 4f
	or $8, %ebx
4:	fnstcw (%rsp)
	movzwl (%rsp), %eax
	cmp $0x37f, %eax
	je 5f
	or $16, %ebx
5:	xor %eax, %eax
	mov %esp, %edi
	.bundle_lock
	mov %edi, %edi
	lea (%r15,%rdi,1), %rdi
	stosb
	.bundle_unlock
	lea 1(%rsp), %rcx
	cmp %rcx, %rdi
	je 6f
	or $32, %ebx
6:	pop %rcx
	mov %rbx, %rax
	fret
