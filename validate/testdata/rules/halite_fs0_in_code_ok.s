# rule: segment-prefix
# want: valid
# profile: halite
.text
.bundle_align_mode 5
mov %fs:0x0, %rax
mov 8(%rsp), %rbx
.bundle_lock
mov %eax, %eax
mov (%r15,%rax,1), %rcx
.bundle_unlock
