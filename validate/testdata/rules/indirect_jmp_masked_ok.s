# rule: unmasked-indirect-jump
# want: valid
.text
.bundle_align_mode 5
.bundle_lock
and $-32, %eax
add %r15, %rax
jmp *%rax
.bundle_unlock
