# rule: bad-index-register
# want: invalid @0x3
.text
mov %eax, %eax
nop
mov (%r15,%rax,1), %ebx
