# rule: jump-out-of-range
# want: invalid @0x0
.text
start:
jne start-0x21
