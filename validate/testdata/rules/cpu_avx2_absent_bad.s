# rule: cpu-feature
# want: invalid @0x0
# features: none
.text
vpaddd %ymm0, %ymm1, %ymm2
