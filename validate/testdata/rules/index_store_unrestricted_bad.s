# rule: bad-index-register
# want: invalid @0x0
.text
mov %ebx, (%r15,%rax,1)
