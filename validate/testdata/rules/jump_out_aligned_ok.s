# targets outside the chunk that are 32-byte aligned
# rule: jump-out-of-range
# want: valid
.text
start:
jmp start+0x1000
jne start-0x40
call start+0x2000000
.p2align 5
