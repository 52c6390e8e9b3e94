# the restriction must be the immediately preceding instruction
# rule: bad-index-register
# want: invalid bad-index-register
# profile: halite
.text
mov %eax, %eax
mov %fs:0x0, %rcx
mov (%r15,%rax,1), %ebx
