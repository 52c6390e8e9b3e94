# rule: r15-modified
# want: invalid @0x0
.text
shl $1, %r15
