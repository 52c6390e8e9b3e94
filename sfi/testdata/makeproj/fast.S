/* Hand-written assembly, rewritten by halite cc like compiler output. */
#define FUNC(name) .globl name; .type name,@function; name:
	.text
FUNC(fast_sum)
	xorl %eax, %eax
	testq %rsi, %rsi
	jle 2f
1:	addq (%rdi), %rax
	addq $8, %rdi
	decq %rsi
	jnz 1b
2:	ret
	.size fast_sum, .-fast_sum
	.section .note.GNU-stack,"",@progbits
