# rule: rbp-partial-write
# want: valid
.text
.bundle_align_mode 5
mov %bp, %ax
mov %bpl, %al
test %bp, %bp
