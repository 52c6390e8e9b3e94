# rule: rbp-sandboxing
# want: valid
.text
.bundle_align_mode 5
push %rbp
mov %rsp, %rbp
.bundle_lock
mov %eax, %ebp
add %r15, %rbp
.bundle_unlock
.bundle_lock
lea 8(%rbx), %ebp
lea 0x0(%rbp,%r15,1), %rbp
.bundle_unlock
