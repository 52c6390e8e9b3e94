# rule: bad-jump-target
# want: invalid @0x0
.text
.bundle_align_mode 5
jmp 1f
.bundle_lock
and $-32, %edx
1: add %r15, %rdx
jmp *%rdx
.bundle_unlock
