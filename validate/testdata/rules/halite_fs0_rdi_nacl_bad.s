# rule: segment-prefix
# want: invalid segment-prefix|unrecognized-instruction @0x0
# profile: nacl
.text
mov %fs:0x0, %rdi
