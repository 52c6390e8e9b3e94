# Native test harness for the runtime object's __tls_get_addr: runs the SFI
# code outside any sandbox with %r15 = a 4 GiB-aligned base and %fs = a fake
# TCB. No libc call may happen while %fs is switched.
	.text
	.globl harness_call
# uint64_t harness_call(uint64_t stub, uint64_t base, uint64_t idx,
#                       uint64_t tp, uint64_t *regs /* 16 slots out */)
# Sets %fs = tp, calls stub(idx) with known values in every other register,
# stores the registers after the call in regs[], restores %fs, returns %rax.
harness_call:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %r8              # regs pointer at 8(%rsp) after the next push
	sub $8, %rsp          # slot for the saved %fs base at 0(%rsp)
	mov %rdi, %r12        # stub
	mov %rsi, %r13        # base
	mov %rdx, %r14        # idx
	mov %rcx, %rbx        # tp
	# arch_prctl(ARCH_GET_FS, rsp)
	mov $158, %eax
	mov $0x1003, %edi
	mov %rsp, %rsi
	syscall
	# arch_prctl(ARCH_SET_FS, tp)
	mov $158, %eax
	mov $0x1002, %edi
	mov %rbx, %rsi
	syscall
	mov %r13, %r15
	mov %r14, %rdi
	mov %r12, %rax
	mov $0x1111111111111111, %rbx
	mov $0x2222222222222222, %rcx
	mov $0x3333333333333333, %rdx
	mov $0x4444444444444444, %rsi
	mov $0x5555555555555555, %r8
	mov $0x6666666666666666, %r9
	mov $0x7777777777777777, %r10
	mov $0x8888888888888888, %r12
	mov $0x9999999999999999, %r13
	mov $0xaaaaaaaaaaaaaaaa, %r14
	mov %rsp, %rbp
	call *%rax
	# Save the results: rax, rbx, rcx, rdx, rsi, rdi, rbp, r8..r15, rsp.
	push %r15                  # keep r15 while we borrow it
	mov 16(%rsp), %r15         # regs
	mov %rax, 0(%r15)
	mov %rbx, 8(%r15)
	mov %rcx, 16(%r15)
	mov %rdx, 24(%r15)
	mov %rsi, 32(%r15)
	mov %rdi, 40(%r15)
	mov %rbp, 48(%r15)
	mov %r8, 56(%r15)
	mov %r9, 64(%r15)
	mov %r10, 72(%r15)
	mov %r11, 80(%r15)
	mov %r12, 88(%r15)
	mov %r13, 96(%r15)
	mov %r14, 104(%r15)
	pop %rbx
	mov %rbx, 112(%r15)        # r15 after the call
	lea 0(%rsp), %rbx
	mov %rbx, 120(%r15)        # rsp after the call (compare with rbp)
	mov %rax, %rbx
	# arch_prctl(ARCH_SET_FS, saved)
	mov $158, %eax
	mov $0x1002, %edi
	mov 0(%rsp), %rsi
	syscall
	mov %rbx, %rax
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.globl harness_call_desc
# uint64_t harness_call_desc(uint64_t stub, uint64_t base, uint64_t desc,
#                            uint64_t tp, uint64_t *regs /* 16 slots out */)
# Like harness_call for a TLSDESC resolver: %rax = desc at the call, and
# %rdi holds a known value too (only %rax and %r11 may change).
harness_call_desc:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %r8
	sub $8, %rsp
	mov %rdi, %r12
	mov %rsi, %r13
	mov %rdx, %r14
	mov %rcx, %rbx
	mov $158, %eax
	mov $0x1003, %edi
	mov %rsp, %rsi
	syscall
	mov $158, %eax
	mov $0x1002, %edi
	mov %rbx, %rsi
	syscall
	mov %r13, %r15
	mov %r12, %r11
	mov %r14, %rax
	mov $0xbbbbbbbbbbbbbbbb, %rdi
	mov $0x1111111111111111, %rbx
	mov $0x2222222222222222, %rcx
	mov $0x3333333333333333, %rdx
	mov $0x4444444444444444, %rsi
	mov $0x5555555555555555, %r8
	mov $0x6666666666666666, %r9
	mov $0x7777777777777777, %r10
	mov $0x8888888888888888, %r12
	mov $0x9999999999999999, %r13
	mov $0xaaaaaaaaaaaaaaaa, %r14
	mov %rsp, %rbp
	call *%r11
	push %r15
	mov 16(%rsp), %r15
	mov %rax, 0(%r15)
	mov %rbx, 8(%r15)
	mov %rcx, 16(%r15)
	mov %rdx, 24(%r15)
	mov %rsi, 32(%r15)
	mov %rdi, 40(%r15)
	mov %rbp, 48(%r15)
	mov %r8, 56(%r15)
	mov %r9, 64(%r15)
	mov %r10, 72(%r15)
	mov %r11, 80(%r15)
	mov %r12, 88(%r15)
	mov %r13, 96(%r15)
	mov %r14, 104(%r15)
	pop %rbx
	mov %rbx, 112(%r15)
	lea 0(%rsp), %rbx
	mov %rbx, 120(%r15)
	mov %rax, %rbx
	mov $158, %eax
	mov $0x1002, %edi
	mov 0(%rsp), %rsi
	syscall
	mov %rbx, %rax
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.globl harness_loop
# void harness_loop(uint64_t stub, uint64_t base, uint64_t idx, uint64_t tp, uint64_t n)
# Calls stub(idx) n times with %fs = tp and %r15 = base.
harness_loop:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	mov %rdi, %r12
	mov %rsi, %r13
	mov %rdx, %r14
	mov %rcx, %rbx
	mov %r8, %rbp
	mov $158, %eax
	mov $0x1003, %edi
	mov %rsp, %rsi
	syscall
	mov $158, %eax
	mov $0x1002, %edi
	mov %rbx, %rsi
	syscall
	mov %r13, %r15
	test %rbp, %rbp
	jz 2f
1:
	mov %r14, %rdi
	call *%r12
	dec %rbp
	jnz 1b
2:
	mov $158, %eax
	mov $0x1002, %edi
	mov 0(%rsp), %rsi
	syscall
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	.section .note.GNU-stack,"",@progbits
