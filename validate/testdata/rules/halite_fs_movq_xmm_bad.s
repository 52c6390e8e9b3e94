# rule: segment-prefix
# want: invalid @0x0 segment-prefix|unrecognized-instruction|forbidden-instruction|bad-base-register
# profile: both
.text
movq %fs:0x0, %xmm0
