# rule: rbp-sandboxing
# want: invalid rbp-sandboxing|rbp-partial-write @0x0
.text
lea 8(%rbp), %rbp
