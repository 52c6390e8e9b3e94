# rule: unrecognized-instruction
# want: valid
.text
.bundle_align_mode 5
add %eax, %ebx
add %ax, %bx
add %rax, %rbx
mov $0x123456789, %rax
lock cmpxchg %ecx, (%r15)
movdqa (%rsp), %xmm1
vmovdqu 0x20(%rsp), %ymm3
fldl (%rsp)
crc32b %al, %ebx
