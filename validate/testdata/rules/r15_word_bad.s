# rule: r15-modified
# want: invalid @0x0
.text
mov %ax, %r15w
