# rule: forbidden-instruction
# want: invalid forbidden-instruction|unrecognized-instruction @0x0
.text
1: addr32 jrcxz 1b
