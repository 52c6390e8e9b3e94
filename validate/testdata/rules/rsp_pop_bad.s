# rule: rsp-sandboxing
# want: invalid rsp-sandboxing|rsp-partial-write @0x0
.text
pop %rsp
