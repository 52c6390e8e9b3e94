# rule: r15-modified
# want: invalid @0x0
.text
xadd %rax, %r15
