# the thread-pointer read
# rule: segment-prefix
# want: valid
# profile: halite
.text
mov %fs:0x0, %rsi
