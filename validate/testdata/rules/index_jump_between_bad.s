# rule: bad-jump-target
# want: invalid
.text
.bundle_align_mode 5
.bundle_lock
mov %eax, %eax
1: mov (%r15,%rax,1), %ebx
.bundle_unlock
jmp 1b
