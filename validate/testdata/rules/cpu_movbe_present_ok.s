# rule: cpu-feature
# want: valid
# features: movbe
.text
movbe (%r15), %eax
