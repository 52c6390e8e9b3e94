# __tls_get_addr for the halite sandbox (x86-64 psABI, TLS variant II), in
# SFI form for the halite validation profile. The bytes are embedded in
# runtime.go; TestRuntimeObjectMatchesSource reassembles this file.
#
# In:  %rdi = address of a tls_index {uint64 module; uint64 offset}.
# Out: %rax = dtv[module] + offset, or 0 for a module id beyond the DTV or
#      without a block.
# Clobbers only %rax, %rdi (upper half), %r11 and the flags; every
# callee-saved register, and every other argument register, is preserved.
# DTV layout (see doc.go): dtv[-1] = capacity, dtv[0] = generation,
# dtv[id] = block address. Never allocates, locks or fails.
	.text
	.bundle_align_mode 5
	.globl __tls_get_addr
	.type __tls_get_addr, @function
	.p2align 5
__tls_get_addr:
	mov %fs:0x0, %rax            # TP (the TCB's address)
	.bundle_lock
	mov %eax, %eax
	mov 0x8(%r15,%rax,1), %rax   # dtv
	.bundle_unlock
	.bundle_lock
	mov %edi, %edi
	mov (%r15,%rdi,1), %r11      # module id
	.bundle_unlock
	.bundle_lock
	mov %eax, %eax
	cmp -0x8(%r15,%rax,1), %r11  # id <= capacity?
	.bundle_unlock
	ja 1f
	.bundle_lock
	lea (%rax,%r11,8), %eax
	mov (%r15,%rax,1), %rax      # dtv[id]
	.bundle_unlock
	test %rax, %rax
	jz 2f
	.bundle_lock
	mov %edi, %edi
	add 0x8(%r15,%rdi,1), %rax   # + offset
	.bundle_unlock
2:
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
1:
	xor %eax, %eax
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.size __tls_get_addr, .-__tls_get_addr
	.p2align 5, 0xf4
