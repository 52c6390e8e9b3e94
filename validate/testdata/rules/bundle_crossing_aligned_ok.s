# the same code assembled in bundle mode
# rule: bundle-crossing
# want: valid
.text
.bundle_align_mode 5
.rept 30
nop
.endr
mov $1, %eax      # bundle mode moves it to the next bundle
