# rule: rsp-sandboxing
# want: invalid
.text
sub $0x28, %esp
nop
add %r15, %rsp
