# rule: unmasked-indirect-jump
# want: invalid unmasked-indirect-jump|forbidden-instruction|unrecognized-instruction @0x0
.text
call *0x8(%rsp)
