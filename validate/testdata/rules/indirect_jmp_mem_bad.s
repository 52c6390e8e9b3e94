# indirect jump through memory
# rule: unmasked-indirect-jump
# want: invalid unmasked-indirect-jump|forbidden-instruction|unrecognized-instruction @0x0
.text
jmp *(%r15)
