# hlt, ud2, cpuid, rdtsc, bt with immediate or register destination, plain loop/jrcxz
# rule: forbidden-instruction
# want: valid
.text
.bundle_align_mode 5
hlt
ud2
cpuid
rdtsc
bt %eax, %ebx
bt $3, (%r15)
bts $5, 8(%rsp)
1: loop 1b
jrcxz 1b
loope 1b
lock incl (%r15)
lfence
mfence
pause
nop
