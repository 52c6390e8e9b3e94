# rule: forbidden-instruction
# want: invalid forbidden-instruction|unrecognized-instruction @0x0
.text
out %al, %dx
