# a direct call need not end at a bundle end (upstream only warns)
# rule: bad-jump-target
# want: valid
# profile: both
.text
call 1f
1: nop
