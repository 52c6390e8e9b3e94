# rule: bad-jump-target
# want: invalid @0x0
.text
.bundle_align_mode 5
jmp 1f
.bundle_lock
mov %edi, %edi
lea (%r15,%rdi,1), %rdi
1: stos %eax, %es:(%rdi)
.bundle_unlock
