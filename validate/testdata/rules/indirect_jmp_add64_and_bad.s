# 64-bit and does not zero-extend
# rule: unmasked-indirect-jump
# want: invalid
.text
.bundle_align_mode 5
.bundle_lock
and $-32, %rax
add %r15, %rax
jmp *%rax
.bundle_unlock
