# a 64-bit write does not zero-extend
# rule: bad-index-register
# want: invalid @0x3
.text
mov %rax, %rax
mov (%r15,%rax,1), %ebx
