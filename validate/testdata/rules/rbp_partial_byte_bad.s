# rule: rbp-partial-write
# want: invalid rbp-partial-write|rbp-sandboxing|unrecognized-instruction @0x0
.text
mov %al, %bpl
