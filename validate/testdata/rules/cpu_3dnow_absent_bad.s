# rule: cpu-feature
# want: invalid @0x0
# features: none
.text
pfadd %mm0, %mm1
