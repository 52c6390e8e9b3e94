# string instructions right after sandboxing of %rdi/%rsi
# rule: bad-base-register
# want: valid
.text
.bundle_align_mode 5
.bundle_lock
mov %edi, %edi
lea (%r15,%rdi,1), %rdi
stos %eax, %es:(%rdi)
.bundle_unlock
.bundle_lock
mov %edi, %edi
lea (%r15,%rdi,1), %rdi
rep stosb %al, %es:(%rdi)
.bundle_unlock
.bundle_lock
mov %esi, %esi
lea (%r15,%rsi,1), %rsi
mov %edi, %edi
lea (%r15,%rdi,1), %rdi
rep movsq %ds:(%rsi), %es:(%rdi)
.bundle_unlock
.bundle_lock
mov %esi, %esi
lea (%r15,%rsi,1), %rsi
lods %ds:(%rsi), %al
.bundle_unlock
