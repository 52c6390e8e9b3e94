# rule: bad-base-register
# want: invalid bad-base-register|unrecognized-instruction @0x0
.text
mov (%esp), %eax
