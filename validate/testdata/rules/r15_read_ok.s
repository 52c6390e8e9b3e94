# rule: r15-modified
# want: valid
.text
.bundle_align_mode 5
mov %r15, %rax
add %r15, %rax
cmp %r15, %rax
test %r15, %r15
push %r15
lea (%r15,%rax,1), %rbx
mov (%r15), %eax
mov %eax, (%r15)
