# rule: cpu-feature
# want: invalid @0x0
# features: none
.text
pblendw $1, %xmm0, %xmm1
