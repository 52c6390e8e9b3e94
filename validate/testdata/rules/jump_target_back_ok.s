# rule: bad-jump-target
# want: valid
.text
.bundle_align_mode 5
1: mov %eax, %ebx
.p2align 5
jmp 1b
je 1b
