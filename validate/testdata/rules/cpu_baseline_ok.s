# instructions that need no optional feature
# rule: cpu-feature
# want: valid
# features: none
.text
.bundle_align_mode 5
add %eax, %ebx
imul %ecx, %edx
mov (%r15), %rax
push %rbx
pop %rbx
