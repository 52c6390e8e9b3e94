# mask does not clear the low 5 bits
# rule: unmasked-indirect-jump
# want: invalid
.text
.bundle_align_mode 5
.bundle_lock
and $-16, %eax
add %r15, %rax
jmp *%rax
.bundle_unlock
