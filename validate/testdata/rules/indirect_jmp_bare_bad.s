# rule: unmasked-indirect-jump
# want: invalid @0x0
.text
jmp *%rax
