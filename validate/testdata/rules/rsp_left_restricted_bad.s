# rule: rsp-sandboxing
# want: invalid
.text
sub $0x28, %esp
