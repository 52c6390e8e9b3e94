# nor a base
# rule: bad-base-register
# want: invalid bad-base-register @0x9
# profile: halite
.text
mov %fs:0x0, %rax
mov (%rax), %ebx
