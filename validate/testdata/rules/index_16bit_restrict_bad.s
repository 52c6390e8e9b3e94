# rule: bad-index-register
# want: invalid
.text
mov %ax, %ax
mov (%r15,%rax,1), %ebx
