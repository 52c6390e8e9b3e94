# rule: cpu-feature
# want: valid
# features: 3dnow
.text
pfadd %mm0, %mm1
