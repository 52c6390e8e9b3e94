# rule: rsp-sandboxing
# want: valid
.text
.bundle_align_mode 5
push %rax
pop %rax
mov %rsp, %rbp
mov %rbp, %rsp
and $-16, %rsp
.bundle_lock
sub $0x28, %esp
add %r15, %rsp
.bundle_unlock
.bundle_lock
mov %eax, %esp
lea (%rsp,%r15,1), %rsp
.bundle_unlock
.bundle_lock
add $0x28, %esp
or %r15, %rsp
.bundle_unlock
