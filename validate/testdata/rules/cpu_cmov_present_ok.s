# rule: cpu-feature
# want: valid
# features: cmov
.text
cmove %eax, %ebx
