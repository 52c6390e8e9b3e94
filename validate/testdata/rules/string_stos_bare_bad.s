# rule: bad-base-register
# want: invalid bad-base-register|bad-index-register|unrecognized-instruction|forbidden-instruction @0x0
.text
stos %eax, %es:(%rdi)
