# rule: bundle-crossing
# want: invalid bundle-crossing|unmasked-indirect-jump @0x20
.text
.rept 26
nop
.endr
and $-32, %eax    # 0x1a
add %r15, %rax    # 0x1d, ends at 0x20
jmp *%rax         # 0x20: in the next bundle, the superinstruction is split
