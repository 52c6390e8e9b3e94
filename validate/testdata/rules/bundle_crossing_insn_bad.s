# an instruction crossing a bundle boundary
# rule: bundle-crossing
# want: invalid @0x1e
.text
.rept 30
nop
.endr
mov $1, %eax      # 5 bytes at 0x1e..0x22 cross the bundle end
