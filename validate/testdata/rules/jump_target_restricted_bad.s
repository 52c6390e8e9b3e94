# target between a register restriction and its use
# rule: bad-jump-target
# want: invalid @0x0
.text
.bundle_align_mode 5
jmp 1f
.bundle_lock
mov %eax, %eax
1: mov (%r15,%rax,1), %ebx
.bundle_unlock
