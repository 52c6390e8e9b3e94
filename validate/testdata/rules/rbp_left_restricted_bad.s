# rule: rbp-sandboxing
# want: invalid
.text
mov %eax, %ebp
