# not in NaCl's maximal feature set: rejected even with every feature
# rule: cpu-feature
# want: invalid unrecognized-instruction|forbidden-instruction|cpu-feature @0x0
.text
vcvtph2ps %xmm0, %xmm1
