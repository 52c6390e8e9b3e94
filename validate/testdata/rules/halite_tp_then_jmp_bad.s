# rule: unmasked-indirect-jump
# want: invalid unmasked-indirect-jump @0x9
# profile: halite
.text
mov %fs:0x0, %rax
jmp *%rax
