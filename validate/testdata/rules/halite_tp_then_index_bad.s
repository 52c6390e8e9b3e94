# the thread pointer is not a restricted (zero-extended) index
# rule: bad-index-register
# want: invalid bad-index-register @0x9
# profile: halite
.text
mov %fs:0x0, %rax
mov (%r15,%rax,1), %ebx
