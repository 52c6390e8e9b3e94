# the return sequence
# rule: unmasked-indirect-jump
# want: valid
.text
.bundle_align_mode 5
pop %r11
.bundle_lock
and $-32, %r11d
add %r15, %r11
jmp *%r11
.bundle_unlock
