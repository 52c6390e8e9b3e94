# rule: segment-prefix
# want: invalid segment-prefix|unrecognized-instruction|forbidden-instruction
.text
mov %esi, %esi
lea (%r15,%rsi,1), %rsi
mov %edi, %edi
lea (%r15,%rdi,1), %rdi
movsb %fs:(%rsi), %es:(%rdi)
