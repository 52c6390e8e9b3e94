# target between %esp write and the base restore
# rule: bad-jump-target
# want: invalid @0x0
.text
.bundle_align_mode 5
jmp 1f
.bundle_lock
sub $0x28, %esp
1: add %r15, %rsp
.bundle_unlock
