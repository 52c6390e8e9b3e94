# rule: unmasked-indirect-jump
# want: valid
.text
.bundle_align_mode 5
.rept 24
nop
.endr
.bundle_lock
and $-32, %ecx    # 0x18
add %r15, %rcx    # 0x1b
call *%rcx        # 0x1e, ends at the bundle end
.bundle_unlock
