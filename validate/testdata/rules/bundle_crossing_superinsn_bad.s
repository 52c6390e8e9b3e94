# a masked-jump superinstruction split by a bundle boundary
# rule: bundle-crossing
# want: invalid bundle-crossing|unmasked-indirect-jump
.text
.rept 27
nop
.endr
and $-32, %eax    # 3 bytes: 0x1b..0x1d
add %r15, %rax    # 3 bytes: 0x1e..0x20, crosses
jmp *%rax
