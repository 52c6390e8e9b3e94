# rule: bad-index-register
# want: invalid @0x0
.text
mov (%r15,%rax,1), %ebx
