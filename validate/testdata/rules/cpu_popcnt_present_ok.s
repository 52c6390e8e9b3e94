# rule: cpu-feature
# want: valid
# features: popcnt
.text
popcnt %eax, %ebx
