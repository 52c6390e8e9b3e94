# rule: cpu-feature
# want: invalid @0x0
# features: none
.text
cmove %eax, %ebx
