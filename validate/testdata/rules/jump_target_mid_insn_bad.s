# rule: bad-jump-target
# want: invalid @0x0
.text
jmp 1f+1
1: mov $1, %eax
