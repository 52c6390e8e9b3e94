# rule: segment-prefix
# want: invalid @0x0 segment-prefix|unrecognized-instruction|forbidden-instruction|bad-base-register
# profile: both
.text
mov %fs:0x8, %rax
