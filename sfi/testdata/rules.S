/* Hand-written assembly exercising the rewriter's rules; built by
 * TestHandWrittenAssembly through halite cc and validated. */
#define FUNC(n) .globl n; .type n,@function; n:
	.text
FUNC(rules)
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	subq $64, %rsp
	movq %rdi, %rax
	movl 8(%rdi), %ecx
	movq (%rsi,%rcx,8), %rdx
	addl %ecx, 4(%rdi,%rdx)
	movb %ah, (%rdx)
	movzbl %bh, %esi
	cmpb %ch, 3(%rdi)
	lock xaddq %rcx, (%rdi)
	rep movsq
	rep stosb
	cld
	movq %fs:0, %rax
	addq %fs:0, %rax
	call local
	call rules@PLT
	call *%rax
	call *8(%rdi)
	call *ext@GOTPCREL(%rip)
	leaq .Ltarget(%rip), %rax
	jmp *%rax
.Ltarget:
	leaq -8(%rbp), %rsp
	popq %rbx
	leave
	ret
FUNC(local)
	xorl %eax, %eax
1:	incl %eax
	cmpl $10, %eax
	jne 1b
	jmp *(%rsp)
	.section .note.GNU-stack,"",@progbits
