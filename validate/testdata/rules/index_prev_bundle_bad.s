# rule: bad-index-register
# want: invalid @0x20
.text
.rept 30
nop
.endr
mov %eax, %eax      # 0x1e, last instruction of the bundle
mov (%r15,%rax,1), %ebx   # 0x20
