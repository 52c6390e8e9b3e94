# rule: bad-jump-target
# want: valid
.text
.bundle_align_mode 5
jmp 1f
nop
1: mov %eax, %ebx
jne 1b
call 2f
.p2align 5
2: nop
