# rule: r15-modified
# want: invalid @0x0
.text
xchg %r15, %rax
