# rule: r15-modified
# want: invalid @0x0
.text
add $1, %r15
