# rule: rsp-sandboxing
# want: invalid rsp-sandboxing|rsp-partial-write @0x0
.text
lea 8(%rsp), %rsp
