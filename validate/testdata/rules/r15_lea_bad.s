# rule: r15-modified
# want: invalid @0x0
.text
lea (%r15,%rax,1), %r15
