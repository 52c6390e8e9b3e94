# rule: bad-index-register
# want: invalid @0x0
.text
mov (%r15,%r15,1), %ebx
