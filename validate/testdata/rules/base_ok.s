# lea computes an address without accessing memory
# rule: bad-base-register
# want: valid
.text
.bundle_align_mode 5
mov (%r15), %eax
mov %eax, 0x10(%r15)
mov 8(%rsp), %rax
mov %rax, -8(%rbp)
mov 0x100(%rip), %eax
incl 4(%rsp)
movaps 0x20(%rsp), %xmm0
push 0x10(%rbp)
lea 8(%rax), %rbx
