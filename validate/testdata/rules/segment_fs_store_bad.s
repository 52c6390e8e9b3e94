# rule: segment-prefix
# want: invalid segment-prefix|unrecognized-instruction|forbidden-instruction
.text
mov %eax, %fs:(%r15)
