# rule: rbp-sandboxing
# want: invalid rbp-sandboxing|rbp-partial-write @0x0
.text
mov %rax, %rbp
