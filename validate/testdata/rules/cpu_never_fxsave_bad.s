# not in NaCl's maximal feature set: rejected even with every feature
# known-bug: validate-bugs.md items 3-6 (feature outside NaCl's maximal set accepted)
# rule: cpu-feature
# want: invalid unrecognized-instruction|forbidden-instruction|cpu-feature @0x0
.text
fxsave (%r15)
