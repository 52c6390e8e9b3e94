# rule: rsp-partial-write
# want: invalid rsp-partial-write|rsp-sandboxing @0x0
.text
inc %sp
