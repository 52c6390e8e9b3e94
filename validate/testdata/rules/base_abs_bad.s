# rule: bad-base-register
# want: invalid bad-base-register @0x0
.text
mov 0x1000, %eax
