# 2e/3e on a conditional jump are branch hints, not segment overrides
# rule: segment-prefix
# want: valid
.text
.bundle_align_mode 5
1: nop
.byte 0x2e
jne 1b
.byte 0x3e
je 1b
