# rule: cpu-feature
# want: valid
# features: fma
.text
vfmadd132ps %xmm0, %xmm1, %xmm2
