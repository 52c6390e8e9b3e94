# rule: jump-out-of-range
# want: invalid @0x0
.text
start:
call start+0x10010
