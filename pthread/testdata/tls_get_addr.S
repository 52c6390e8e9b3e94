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

# TLSDESC resolvers. In: %rax = address of a TLS descriptor {resolver, arg}
# (absolute, or its low 32 bits as an SFI call site leaves it).
# Out: %rax = the variable's offset from the thread pointer.
# halite convention: they clobber only %rax, %r11 and the flags (the SFI
# return needs %r11; an SFI TLSDESC call site has already used %r11 for the
# masked call, so it must treat %r11 as clobbered anyway).

# Static TLS: arg is the offset from the thread pointer.
	.p2align 5
	.globl _dl_tlsdesc_return
	.type _dl_tlsdesc_return, @function
_dl_tlsdesc_return:
	.bundle_lock
	mov %eax, %eax
	mov 0x8(%r15,%rax,1), %rax
	.bundle_unlock
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.size _dl_tlsdesc_return, .-_dl_tlsdesc_return

# Dynamic TLS: arg is the address of a tls_index {module, offset}; the
# result is dtv[module] + offset - TP, or -TP (address 0, outside the
# sandbox) for a module id without a block.
	.p2align 5
	.globl _dl_tlsdesc_dynamic
	.type _dl_tlsdesc_dynamic, @function
_dl_tlsdesc_dynamic:
	push %rdi
	.bundle_lock
	mov %eax, %eax
	mov 0x8(%r15,%rax,1), %rdi   # &tls_index
	.bundle_unlock
	mov %fs:0x0, %rax            # TP
	push %rax
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
	ja 3f
	.bundle_lock
	lea (%rax,%r11,8), %eax
	mov (%r15,%rax,1), %rax      # dtv[id]
	.bundle_unlock
	test %rax, %rax
	jz 4f
	.bundle_lock
	mov %edi, %edi
	add 0x8(%r15,%rdi,1), %rax   # + offset
	.bundle_unlock
	sub (%rsp), %rax             # - TP
	pop %r11
	pop %rdi
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
3:
	xor %eax, %eax
4:
	sub (%rsp), %rax             # 0 - TP
	pop %r11
	pop %rdi
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.size _dl_tlsdesc_dynamic, .-_dl_tlsdesc_dynamic
	.p2align 5, 0xf4
