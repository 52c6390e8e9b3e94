# rule: unmasked-indirect-jump
# want: invalid
.text
add %r15, %rax
jmp *%rax
