package pthread

// Memory is the part of a sandbox's address space that the TLS runtime
// uses. Addresses are absolute guest addresses, as in the sandbox API.
// The sandbox runtime implements it over Sandbox.Alloc/Unmap/Read/Write.
type Memory interface {
	// Alloc returns size bytes of zeroed, readable and writable memory
	// aligned to align (a power of two). Pages the runtime never writes
	// should stay uncommitted.
	Alloc(size, align uint64) (uint64, error)
	// Free releases memory returned by Alloc (same addr and size).
	Free(addr, size uint64) error
	// Read copies len(dst) bytes at addr into dst.
	Read(addr uint64, dst []byte) error
	// Write copies src to addr.
	Write(addr uint64, src []byte) error
	// StoreUint64 stores v at the 8-aligned addr with one atomic store, so
	// that a sandbox thread reading the word concurrently sees the old or
	// the new value, never a mix.
	StoreUint64(addr, v uint64) error
	// LoadUint32 and StoreUint32 access the 4-aligned word at addr with
	// one atomic load or store (futex words, tid words).
	LoadUint32(addr uint64) (uint32, error)
	StoreUint32(addr uint64, v uint32) error
}
