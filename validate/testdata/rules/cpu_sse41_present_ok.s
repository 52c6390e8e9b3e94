# rule: cpu-feature
# want: valid
# features: sse4.1
.text
pblendw $1, %xmm0, %xmm1
