# rule: unmasked-indirect-jump
# want: invalid
.text
.bundle_align_mode 5
.bundle_lock
and $-32, %eax
add %r15, %rbx
jmp *%rax
.bundle_unlock
