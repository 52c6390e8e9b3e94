/* Entry point and the call into rewritten code: %r15 = 0 (sandbox base),
 * %rsp on a stack below 4 GiB, and the call ends at a 32-byte boundary so
 * that the masked return lands exactly on the return address. */
	.text
	.globl _start
	.p2align 5
_start:
	andq $-16, %rsp
	call harness_start
	hlt

	.globl halite_enter
	.p2align 5
halite_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rbx
	movq %rsi, %rsp
	xorl %r15d, %r15d
	movq %rdi, %rax
	.p2align 5
	.nops 30
	call *%rax
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.section .note.GNU-stack,"",@progbits
