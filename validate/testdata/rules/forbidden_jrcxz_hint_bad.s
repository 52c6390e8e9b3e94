# rule: forbidden-instruction
# want: invalid forbidden-instruction|unrecognized-instruction|segment-prefix @0x0
.text
1: .byte 0x3e
jrcxz 1b
