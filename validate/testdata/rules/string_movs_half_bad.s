# movs with only %rdi sandboxed
# rule: bad-base-register
# want: invalid bad-base-register|bad-index-register|unrecognized-instruction|forbidden-instruction
.text
mov %edi, %edi
lea (%r15,%rdi,1), %rdi
movsb %ds:(%rsi), %es:(%rdi)
