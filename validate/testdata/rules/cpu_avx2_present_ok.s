# rule: cpu-feature
# want: valid
# features: avx2
.text
vpaddd %ymm0, %ymm1, %ymm2
