# rule: segment-prefix
# want: invalid segment-prefix|unrecognized-instruction|forbidden-instruction
.text
.byte 0x3e
mov (%r15), %eax
