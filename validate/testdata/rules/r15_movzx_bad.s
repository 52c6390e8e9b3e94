# rule: r15-modified
# want: invalid @0x0
.text
movzbl %al, %r15d
