# rule: forbidden-instruction
# want: invalid forbidden-instruction|unrecognized-instruction @0x0
.text
1: addr32 loop 1b
