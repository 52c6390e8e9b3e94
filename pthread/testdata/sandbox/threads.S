# Sandbox test programs for pthread (SFI form, halite profile). Linked by
# the tests with ld -Ttext=CODE --defsym=__tls_get_addr=RT, offsets from the
# sandbox base B (calls are PC-relative, so the code runs at any B).
# Host calls go through the trampolines at B+0x10000+32*nr: a call must end
# at a bundle end, because the return masks the address to 32 bytes.
	.text
	.bundle_align_mode 5

	.set TRAMP, 0x10000
	.set SYS_FUTEX, 202
	.set SYS_THREAD_CREATE, 1056
	.set FUTEX_WAIT_PRIVATE, 128
	.set FUTEX_WAKE_PRIVATE, 129

# Call host call \nr (arguments already in rdi, rsi, rdx, r10).
.macro HOSTCALL nr
	.p2align 5
	.skip 27, 0x90
	call TRAMP + 32 * \nr
.endm

# Call a function, ending at a bundle end.
.macro CALLFN fn
	.p2align 5
	.skip 27, 0x90
	call \fn
.endm

.macro RETURN
	pop %r11
	.bundle_lock
	and $-32, %r11d
	add %r15, %r11
	jmp *%r11
	.bundle_unlock
.endm

# ---------------------------------------------------------------------
# tlsprobe(rec): one thread of the TLS acceptance test. rec (absolute):
#   0 id            8 static TLS offset of module 1 (negative)
#  16 &tls_index of module 2 (dynamic)   24 &tls_index of the late module
#  32 &ready counter   40 &gate word
#  out: 48 TP   56 static block   64 static[0..8)   72 static[8..16)
#       80 dynamic block   88 dyn[0..8)   96 dyn[8..16)
#      104 static[8..16) after the gate   112 dyn[8..16) after the gate
#      120 late block  128 late[0..8)
	.globl tlsprobe
	.p2align 5
tlsprobe:
	mov %rdi, %rbx                 # rec
	mov %fs:0x0, %r12              # TP
	.bundle_lock
	mov %ebx, %eax
	mov %r12, 48(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 8(%r15,%rax,1), %r13
	.bundle_unlock
	add %r12, %r13                 # static block = TP + offset
	.bundle_lock
	mov %ebx, %eax
	mov %r13, 56(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %r13d, %eax
	mov (%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 64(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %r13d, %eax
	mov 8(%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 72(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov (%r15,%rax,1), %rcx        # id
	.bundle_unlock
	.bundle_lock
	mov %r13d, %eax
	mov %rcx, 8(%r15,%rax,1)       # static tbss word := id
	.bundle_unlock
	# Dynamic TLS through __tls_get_addr.
	.bundle_lock
	mov %ebx, %eax
	mov 16(%r15,%rax,1), %rdi
	.bundle_unlock
	CALLFN __tls_get_addr
	mov %rax, %r14                 # dynamic block
	.bundle_lock
	mov %ebx, %ecx
	mov %rax, 80(%r15,%rcx,1)
	.bundle_unlock
	.bundle_lock
	mov %r14d, %eax
	mov (%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 88(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %r14d, %eax
	mov 8(%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 96(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov (%r15,%rax,1), %rcx        # id
	.bundle_unlock
	.bundle_lock
	mov %r14d, %eax
	mov %rcx, 8(%r15,%rax,1)       # dynamic tbss word := id
	.bundle_unlock
	# ready++ and wait for the gate.
	.bundle_lock
	mov %ebx, %eax
	mov 32(%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ecx, %eax
	lock addl $1, (%r15,%rax,1)
	.bundle_unlock
1:
	.bundle_lock
	mov %ebx, %eax
	mov 40(%r15,%rax,1), %rdi      # &gate
	.bundle_unlock
	.bundle_lock
	mov %edi, %eax
	mov (%r15,%rax,1), %edx
	.bundle_unlock
	test %edx, %edx
	jnz 2f
	mov $FUTEX_WAIT_PRIVATE, %esi
	xor %r10d, %r10d
	HOSTCALL SYS_FUTEX
	jmp 1b
2:
	.bundle_lock
	mov %r13d, %eax
	mov 8(%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 104(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %r14d, %eax
	mov 8(%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 112(%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 24(%r15,%rax,1), %rdi
	.bundle_unlock
	CALLFN __tls_get_addr
	.bundle_lock
	mov %ebx, %ecx
	mov %rax, 120(%r15,%rcx,1)
	.bundle_unlock
	test %rax, %rax
	jz 3f
	.bundle_lock
	mov %eax, %eax
	mov (%r15,%rax,1), %rcx
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, 128(%r15,%rax,1)
	.bundle_unlock
3:
	xor %eax, %eax
	RETURN

# ---------------------------------------------------------------------
# Futex mutex (Drepper, "Futexes Are Tricky", mutex 2) on the word at the
# absolute address in %r12. Clobber rax rcx rdx rsi rdi r10 r11.
.macro MUTEX_LOCK
	xor %eax, %eax
	mov $1, %ecx
	.bundle_lock
	mov %r12d, %edx
	lock cmpxchg %ecx, (%r15,%rdx,1)
	.bundle_unlock
	jz 9f
	cmp $2, %eax
	je 8f
	mov $2, %ecx
	.bundle_lock
	mov %r12d, %edx
	xchg %ecx, (%r15,%rdx,1)
	.bundle_unlock
	test %ecx, %ecx
	jz 9f
8:
	mov %r12, %rdi
	mov $FUTEX_WAIT_PRIVATE, %esi
	mov $2, %edx
	xor %r10d, %r10d
	HOSTCALL SYS_FUTEX
	mov $2, %ecx
	.bundle_lock
	mov %r12d, %edx
	xchg %ecx, (%r15,%rdx,1)
	.bundle_unlock
	test %ecx, %ecx
	jnz 8b
9:
.endm

.macro MUTEX_UNLOCK
	xor %ecx, %ecx
	.bundle_lock
	mov %r12d, %edx
	xchg %ecx, (%r15,%rdx,1)
	.bundle_unlock
	cmp $2, %ecx
	jne 7f
	mov %r12, %rdi
	mov $FUTEX_WAKE_PRIVATE, %esi
	mov $1, %edx
	HOSTCALL SYS_FUTEX
7:
.endm

# ring(rec): a mutex and a condition variable under stress. rec:
#   0 id   8 n   16 rounds   24 &mutex   32 &cond (sequence word)
#  40 &turn (uint64)   48 &counter (uint64, updated without atomics)
#  56 &counter2 (uint64, updated without atomics)
# For each round: 20 times { lock; counter2 = counter2 + 1 with a pause
# between load and store; unlock } (the mutex alone keeps updates), then
# the token ring: lock; while turn % n != id: cond_wait; turn++;
# counter++; cond_broadcast; unlock.
	.globl ring
	.p2align 5
ring:
	mov %rdi, %rbx
	.bundle_lock
	mov %ebx, %eax
	mov 56(%r15,%rax,1), %rax
	.bundle_unlock
	push %rax                      # &counter2 at 8(%rsp)
	.bundle_lock
	mov %ebx, %eax
	mov 8(%r15,%rax,1), %rax
	.bundle_unlock
	push %rax                      # n at (%rsp)
	.bundle_lock
	mov %ebx, %eax
	mov (%r15,%rax,1), %r8         # id
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 16(%r15,%rax,1), %r9       # rounds
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 24(%r15,%rax,1), %r12      # &mutex
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 32(%r15,%rax,1), %r13      # &cond
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 40(%r15,%rax,1), %r14      # &turn
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 48(%r15,%rax,1), %rbx      # &counter
	.bundle_unlock
10:
	test %r9, %r9
	jz 19f
	push $20                       # inner count; n at 8(%rsp), &counter2 at 16(%rsp)
14:
	MUTEX_LOCK
	mov 16(%rsp), %rcx
	.bundle_lock
	mov %ecx, %eax
	mov (%r15,%rax,1), %rdx
	.bundle_unlock
	mov $50, %eax
15:
	pause
	sub $1, %eax
	jnz 15b
	add $1, %rdx
	.bundle_lock
	mov %ecx, %eax
	mov %rdx, (%r15,%rax,1)
	.bundle_unlock
	MUTEX_UNLOCK
	subq $1, (%rsp)
	jnz 14b
	pop %rax
	MUTEX_LOCK
11:
	.bundle_lock
	mov %r14d, %eax
	mov (%r15,%rax,1), %rax
	.bundle_unlock
	xor %edx, %edx
	divq (%rsp)
	cmp %r8, %rdx
	je 12f
	# cond_wait: seq = *cond; unlock; futex_wait(cond, seq); lock
	.bundle_lock
	mov %r13d, %eax
	mov (%r15,%rax,1), %eax
	.bundle_unlock
	push %rax
	MUTEX_UNLOCK
	pop %rdx
	mov %r13, %rdi
	mov $FUTEX_WAIT_PRIVATE, %esi
	xor %r10d, %r10d
	HOSTCALL SYS_FUTEX
	MUTEX_LOCK
	jmp 11b
12:
	.bundle_lock
	mov %r14d, %eax
	addq $1, (%r15,%rax,1)
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov (%r15,%rax,1), %rcx
	.bundle_unlock
	add $1, %rcx
	.bundle_lock
	mov %ebx, %eax
	mov %rcx, (%r15,%rax,1)
	.bundle_unlock
	# cond_broadcast: seq++; futex_wake(cond, INT_MAX)
	.bundle_lock
	mov %r13d, %eax
	lock addl $1, (%r15,%rax,1)
	.bundle_unlock
	mov %r13, %rdi
	mov $FUTEX_WAKE_PRIVATE, %esi
	mov $0x7fffffff, %edx
	HOSTCALL SYS_FUTEX
	MUTEX_UNLOCK
	sub $1, %r9
	jmp 10b
19:
	pop %rax
	pop %rax
	xor %eax, %eax
	RETURN

# ---------------------------------------------------------------------
# spawner(rec): creates threads with the thread_create host call and joins
# them through their tid words (pthread_join's way). rec:
#   0 count   8 entry   16 first arg   24 arg stride
#  32 first stack top   40 stack stride   48 first tid word (4 bytes each)
#  56 out: number of failed creates
	.globl spawner
	.p2align 5
spawner:
	mov %rdi, %rbx
	xor %r12d, %r12d               # i
	xor %r13d, %r13d               # failures
20:
	.bundle_lock
	mov %ebx, %eax
	cmp (%r15,%rax,1), %r12
	.bundle_unlock
	jae 22f
	# arg = first + i*stride; stack = first + i*stride; tid = first + 4i
	.bundle_lock
	mov %ebx, %eax
	mov 24(%r15,%rax,1), %rsi
	.bundle_unlock
	imul %r12, %rsi
	.bundle_lock
	mov %ebx, %eax
	add 16(%r15,%rax,1), %rsi
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 40(%r15,%rax,1), %rdx
	.bundle_unlock
	imul %r12, %rdx
	.bundle_lock
	mov %ebx, %eax
	add 32(%r15,%rax,1), %rdx
	.bundle_unlock
	lea (,%r12,4), %r10
	.bundle_lock
	mov %ebx, %eax
	add 48(%r15,%rax,1), %r10
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov 8(%r15,%rax,1), %rdi
	.bundle_unlock
	# thread_create(entry, arg, stack_top, tid_addr): 4th argument in r10
	HOSTCALL SYS_THREAD_CREATE
	test %rax, %rax
	jg 21f
	add $1, %r13
21:
	add $1, %r12
	jmp 20b
22:
	xor %r12d, %r12d
23:
	.bundle_lock
	mov %ebx, %eax
	cmp (%r15,%rax,1), %r12
	.bundle_unlock
	jae 25f
	lea (,%r12,4), %rdi
	.bundle_lock
	mov %ebx, %eax
	add 48(%r15,%rax,1), %rdi
	.bundle_unlock
24:
	.bundle_lock
	mov %edi, %eax
	mov (%r15,%rax,1), %edx
	.bundle_unlock
	test %edx, %edx
	jz 26f
	xor %esi, %esi                 # FUTEX_WAIT (shared), as for CLEARTID
	xor %r10d, %r10d
	push %rdi
	HOSTCALL SYS_FUTEX
	pop %rdi
	jmp 24b
26:
	add $1, %r12
	jmp 23b
25:
	.bundle_lock
	mov %ebx, %eax
	mov %r13, 56(%r15,%rax,1)
	.bundle_unlock
	xor %eax, %eax
	RETURN

# ---------------------------------------------------------------------
# bench_tga(rec): calls __tls_get_addr(rec[0]) rec[8] times; returns.
# bench_load(rec): loads the word at rec[0] rec[8] times through the same
# call/return sequence (a plain function returning a load).
	.globl bench_tga
	.p2align 5
bench_tga:
	mov %rdi, %rbx
	.bundle_lock
	mov %ebx, %eax
	mov 8(%r15,%rax,1), %r12
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov (%r15,%rax,1), %r13
	.bundle_unlock
30:
	test %r12, %r12
	jz 31f
	mov %r13, %rdi
	CALLFN __tls_get_addr
	sub $1, %r12
	jmp 30b
31:
	xor %eax, %eax
	RETURN

	.globl bench_load
	.p2align 5
bench_load:
	mov %rdi, %rbx
	.bundle_lock
	mov %ebx, %eax
	mov 8(%r15,%rax,1), %r12
	.bundle_unlock
	.bundle_lock
	mov %ebx, %eax
	mov (%r15,%rax,1), %r13
	.bundle_unlock
32:
	test %r12, %r12
	jz 33f
	mov %r13, %rdi
	CALLFN plain_load
	sub $1, %r12
	jmp 32b
33:
	xor %eax, %eax
	RETURN

	.p2align 5
plain_load:
	.bundle_lock
	mov %edi, %edi
	mov (%r15,%rdi,1), %rax
	.bundle_unlock
	RETURN

# exit_call(arg): ends the thread with the exit host call (60).
	.set SYS_EXIT, 60
	.globl exit_call
	.p2align 5
exit_call:
	xor %edi, %edi
	HOSTCALL SYS_EXIT
	hlt

# exit_now(arg): returns at once (thread create+join benchmark).
	.globl exit_now
	.p2align 5
exit_now:
	xor %eax, %eax
	RETURN
	.p2align 5, 0xf4
	.section .note.GNU-stack,"",@progbits
