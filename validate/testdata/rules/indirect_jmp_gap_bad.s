# an instruction between the add and the jump
# rule: unmasked-indirect-jump
# want: invalid
.text
.bundle_align_mode 5
.bundle_lock
and $-32, %eax
add %r15, %rax
nop
jmp *%rax
.bundle_unlock
