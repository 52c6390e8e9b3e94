# Not SFI-valid: instructions the validator must refuse. Mapped only
# through the test-only validation bypass, to test the runtime's last
# lines of defence (seccomp, the front handler).
	.text
	.bundle_align_mode 5
	.p2align 5
	.globl getpid
getpid:
	mov $39, %eax
	syscall
	ud2
	.p2align 5
	.globl trap
trap:
	int3
	ud2
	.p2align 5
	.globl wrgs
wrgs:
	xor %eax, %eax
	wrgsbase %rax
	ud2
