# the exception does not fit inside a masked jump
# rule: unmasked-indirect-jump
# want: invalid
# profile: halite
.text
and $-32, %eax
mov %fs:0x0, %rcx
add %r15, %rax
jmp *%rax
