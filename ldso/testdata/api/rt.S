# libhalite.so: the in-sandbox dl* API and host-call entry, in SFI form for
# the halite validation profile. The bytes are embedded in ldso/api_rt.go;
# TestAPIRuntimeMatchesSource reassembles this file (as --64, .text only).
#
# Each dl* function moves its C arguments into the host-call registers
# (rdi, rsi, rdx, r10, r8, r9 -- the first three are the C ones already)
# and jumps to the sandbox trampoline slot of its call number at
# B + 0x10000 + 32*nr (the trampoline returns straight to the C caller,
# clobbering rax, rcx and r11 only). Call numbers: see ldso/api.go.
	.text
	.bundle_align_mode 5
.Lbase:

# masked call through %r11, placed to end exactly at a bundle end (so that
# the return address is bundle aligned)
	.macro MCALL
	.nops (32 - ((. - .Lbase) & 31)) * ((((. - .Lbase) & 31) + 9) >> 5)
	.nops 22 - ((. - .Lbase) & 31)
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	call *%r11
	.bundle_unlock
	.endm

# trampoline slot address of call \nr into %r11 and a masked tail jump
	.macro TAILCALL nr
	mov $(0x10000 + 32*\nr), %r11d
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.endm

# void *dlopen(const char *file, int mode): rdx = the caller's return address
	.p2align 5
	.globl dlopen
	.type dlopen, @function
dlopen:
	mov (%rsp), %rdx
	TAILCALL 1088
	.size dlopen, .-dlopen

# void *dlsym(void *handle, const char *name): rdx = the caller's return
# address, r10 = its thread pointer (for a thread-local symbol's address)
	.p2align 5
	.globl dlsym
	.type dlsym, @function
dlsym:
	mov (%rsp), %rdx
	mov %fs:0, %r10
	TAILCALL 1089
	.size dlsym, .-dlsym

# int dlclose(void *handle)
	.p2align 5
	.globl dlclose
	.type dlclose, @function
dlclose:
	TAILCALL 1090
	.size dlclose, .-dlclose

# char *dlerror(void)
	.p2align 5
	.globl dlerror
	.type dlerror, @function
dlerror:
	TAILCALL 1091
	.size dlerror, .-dlerror

# int dladdr(const void *addr, Dl_info *info)
	.p2align 5
	.globl dladdr
	.type dladdr, @function
dladdr:
	TAILCALL 1092
	.size dladdr, .-dladdr

# void *dlvsym(void *handle, const char *name, const char *version):
# r10 = the caller's return address, r8 = its thread pointer
	.p2align 5
	.globl dlvsym
	.type dlvsym, @function
dlvsym:
	mov (%rsp), %r10
	mov %fs:0, %r8
	TAILCALL 1094
	.size dlvsym, .-dlvsym

# long halite_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
# nr outside [0, 2048) returns -ENOSYS (-38).
	.p2align 5
	.globl halite_syscall
	.type halite_syscall, @function
halite_syscall:
	cmp $2048, %rdi
	jae 1f
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	shl $5, %eax
	add $0x10000, %eax
	mov %eax, %r11d
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
1:
	mov $-38, %rax
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.size halite_syscall, .-halite_syscall

# int dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
# Loops over the loaded objects: host call 1093 (index, info, thread
# pointer) fills the
# 64-byte struct dl_phdr_info on this stack frame for object index and
# returns 1, or 0 past the last object; the callback then runs here, in
# the sandbox, with (info, 64, data). A non-zero callback result ends the
# walk (the host is told with index -1) and is returned.
	.p2align 5
	.globl dl_iterate_phdr
	.type dl_iterate_phdr, @function
dl_iterate_phdr:
	push %rbx
	push %r12
	push %r13
	.bundle_lock
	sub $64, %esp
	add %r15, %rsp
	.bundle_unlock
	mov %rdi, %r12
	mov %rsi, %r13
	xor %ebx, %ebx
2:
	mov %ebx, %edi
	mov %rsp, %rsi
	mov %fs:0, %rdx
	mov $(0x10000 + 32*1093), %r11d
	MCALL
	test %rax, %rax
	jle 3f
	mov %rsp, %rdi
	mov $64, %esi
	mov %r13, %rdx
	mov %r12, %r11
	MCALL
	test %eax, %eax
	jne 4f
	inc %ebx
	jmp 2b
3:
	xor %eax, %eax
	jmp 5f
4:
	# The callback ended the walk early: host call 1093 with index -1
	# tells the host that this thread's walk is over (dlclose waits for
	# walks in progress); the callback's result is kept in %ebx.
	mov %eax, %ebx
	mov $-1, %edi
	xor %esi, %esi
	xor %edx, %edx
	mov $(0x10000 + 32*1093), %r11d
	MCALL
	mov %ebx, %eax
5:
	.bundle_lock
	add $64, %esp
	add %r15, %rsp
	.bundle_unlock
	pop %r13
	pop %r12
	pop %rbx
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
	.size dl_iterate_phdr, .-dl_iterate_phdr
	.p2align 5, 0xf4
