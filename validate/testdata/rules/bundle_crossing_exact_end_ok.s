# rule: bundle-crossing
# want: valid
.text
.rept 27
nop
.endr
mov $1, %eax      # ends exactly at the bundle end
mov $2, %ebx
