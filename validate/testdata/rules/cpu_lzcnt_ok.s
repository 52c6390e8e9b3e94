# lzcnt/tzcnt (NaCl allows them unconditionally)
# rule: cpu-feature
# want: valid
# features: all
.text
.bundle_align_mode 5
lzcnt %eax, %ebx
tzcnt %eax, %ebx
