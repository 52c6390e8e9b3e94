# rule: rsp-sandboxing
# want: invalid
.text
.rept 29
nop
.endr
sub $8, %esp        # 0x1d, ends at the bundle end
add %r15, %rsp      # 0x20: next bundle
