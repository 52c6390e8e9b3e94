# rule: segment-prefix
# want: invalid segment-prefix|unrecognized-instruction|forbidden-instruction
.text
.byte 0x64
add %eax, %ebx
