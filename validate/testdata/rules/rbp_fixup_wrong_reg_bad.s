# rule: rbp-sandboxing
# want: invalid
.text
mov %eax, %ebp
add %r15, %rsp
