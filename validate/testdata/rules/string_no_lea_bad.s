# rule: bad-base-register
# want: invalid bad-base-register|bad-index-register|unrecognized-instruction|forbidden-instruction @0x2
.text
mov %edi, %edi
stos %eax, %es:(%rdi)
