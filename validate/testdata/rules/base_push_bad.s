# rule: bad-base-register
# want: invalid bad-base-register @0x0
.text
push (%rdx)
