# rule: segment-prefix
# want: invalid segment-prefix|unrecognized-instruction|forbidden-instruction
.text
mov %gs:(%r15), %eax
