# rule: cpu-feature
# want: valid
# features: avx
.text
vaddps %ymm0, %ymm1, %ymm2
