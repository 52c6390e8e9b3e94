# rule: rsp-sandboxing
# want: invalid @0x0
.text
add %r15, %rsp
