# rule: bad-base-register
# want: invalid bad-base-register|bad-index-register|unrecognized-instruction|forbidden-instruction @0x20
.text
.rept 26
nop
.endr
mov %edi, %edi          # 0x1a
lea (%r15,%rdi,1), %rdi # 0x1c, ends at 0x20
stos %eax, %es:(%rdi)   # 0x20
