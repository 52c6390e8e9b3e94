# rule: jump-out-of-range
# want: invalid @0x0
.text
start:
jmp start+0x1001
