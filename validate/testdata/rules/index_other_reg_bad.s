# rule: bad-index-register
# want: invalid @0x2
.text
mov %ecx, %ecx
mov (%r15,%rax,1), %ebx
