# rule: bad-index-register
# want: valid
.text
.bundle_align_mode 5
.bundle_lock
mov %eax, %eax
mov (%r15,%rax,1), %ebx
.bundle_unlock
.bundle_lock
lea 4(%rcx), %r11d
mov %edx, (%r15,%r11,4)
.bundle_unlock
.bundle_lock
add $8, %esi
mov 8(%rsp,%rsi,8), %rax
.bundle_unlock
.bundle_lock
mov %eax, %eax
add (%rbp,%rax,1), %ebx
.bundle_unlock
