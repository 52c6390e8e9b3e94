# rule: cpu-feature
# want: invalid @0x0
# features: none
.text
vfmadd132ps %xmm0, %xmm1, %xmm2
