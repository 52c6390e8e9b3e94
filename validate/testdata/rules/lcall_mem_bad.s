# rule: forbidden-instruction
# want: invalid forbidden-instruction|unrecognized-instruction|unmasked-indirect-jump @0x0
.text
lcall *(%r15)
