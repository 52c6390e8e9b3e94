# rule: bad-index-register
# want: invalid @0x0
.text
mov (%r15,%rbp,1), %ebx
