# rule: cpu-feature
# want: invalid @0x0
# features: none
.text
movbe (%r15), %eax
