# rule: rsp-partial-write
# want: valid
.text
.bundle_align_mode 5
mov %sp, %ax
mov %spl, %al
cmp $1, %sp
push %rsp
