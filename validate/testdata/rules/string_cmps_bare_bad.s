# rule: bad-base-register
# want: invalid bad-base-register|bad-index-register|unrecognized-instruction|forbidden-instruction @0x0
.text
cmpsb %es:(%rdi), %ds:(%rsi)
