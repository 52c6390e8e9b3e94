# rule: bad-base-register
# want: invalid bad-base-register @0x0
.text
mov %ebx, 8(%rax)
