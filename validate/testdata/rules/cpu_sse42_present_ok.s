# rule: cpu-feature
# want: valid
# features: sse4.2
.text
crc32b %al, %ebx
