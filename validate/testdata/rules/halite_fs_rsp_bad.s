# rule: segment-prefix
# want: invalid @0x0 segment-prefix|unrecognized-instruction|r15-modified|rsp-sandboxing|rbp-sandboxing|rsp-partial-write|rbp-partial-write
# profile: both
.text
mov %fs:0x0, %rsp
