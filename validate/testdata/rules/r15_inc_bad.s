# rule: r15-modified
# want: invalid @0x0
.text
inc %r15
