# rule: bad-base-register
# want: invalid bad-base-register|bad-index-register|unrecognized-instruction|forbidden-instruction @0x0
.text
movsb %ds:(%rsi), %es:(%rdi)
