# rule: forbidden-instruction
# want: invalid forbidden-instruction|unrecognized-instruction @0x0
.text
bts %rax, 8(%rsp)
