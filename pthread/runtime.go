package pthread

// RuntimeSymbol is one symbol that the runtime object defines.
type RuntimeSymbol struct {
	Name string
	// Offset and Size locate the function in RuntimeObject.Code.
	Offset, Size uint64
	// Version is the symbol version under which glibc-built objects
	// reference it (__tls_get_addr@GLIBC_2.3, defined by glibc in
	// ld-linux-x86-64.so.2); "" for none.
	Version string
}

// RuntimeObject is the code that the runtime provides inside every sandbox:
// SFI-valid (halite profile) x86-64 bytes, position independent, to be
// mapped at a 32-byte-aligned address with MapCode, and a symbol table the
// loader uses to bind references by name, like any other object's.
type RuntimeObject struct {
	// Name is the object's name for the loader (its soname).
	Name string
	// Code is a multiple of 32 bytes, padded with hlt.
	Code    []byte
	Symbols []RuntimeSymbol
}

// RuntimeObjectName is the soname under which the runtime object is linked.
const RuntimeObjectName = "libhalite-rt.so"

// tlsGetAddrCode is testdata/tls_get_addr.S assembled by GNU as
// (`as --64`, .text only); TestRuntimeCodeMatchesSource checks it.
var tlsGetAddrCode = []byte{
	0x64, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, 0x89, 0xc0, 0x49,
	0x8b, 0x44, 0x07, 0x08, 0x89, 0xff, 0x4d, 0x8b, 0x1c, 0x3f, 0x89, 0xc0,
	0x4d, 0x3b, 0x5c, 0x07, 0xf8, 0x90, 0x90, 0x90, 0x77, 0x28, 0x42, 0x8d,
	0x04, 0xd8, 0x49, 0x8b, 0x04, 0x07, 0x48, 0x85, 0xc0, 0x74, 0x07, 0x89,
	0xff, 0x49, 0x03, 0x44, 0x3f, 0x08, 0x41, 0x5b, 0x90, 0x90, 0x90, 0x90,
	0x90, 0x90, 0x90, 0x90, 0x41, 0x83, 0xe3, 0xe0, 0x4d, 0x01, 0xfb, 0x41,
	0xff, 0xe3, 0x31, 0xc0, 0x41, 0x5b, 0x41, 0x83, 0xe3, 0xe0, 0x4d, 0x01,
	0xfb, 0x41, 0xff, 0xe3, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4,
}

// Runtime returns a fresh copy of the runtime object. It defines
// __tls_get_addr: given %rdi pointing at a tls_index {module, offset}, it
// returns dtv[module]+offset of the calling thread in %rax (0 for an
// unknown module id), reading only the TCB and DTV; it clobbers %rax, %r11,
// the upper half of %rdi and the flags, and preserves every other register
// (more than the psABI requires of a normal function). TLSDESC is not
// provided.
func Runtime() *RuntimeObject {
	return &RuntimeObject{
		Name: RuntimeObjectName,
		Code: append([]byte(nil), tlsGetAddrCode...),
		Symbols: []RuntimeSymbol{
			{Name: "__tls_get_addr", Offset: 0, Size: 0x58, Version: "GLIBC_2.3"},
		},
	}
}

// Lookup returns the symbol called name, if the object defines it.
func (o *RuntimeObject) Lookup(name string) (RuntimeSymbol, bool) {
	for _, s := range o.Symbols {
		if s.Name == name {
			return s, true
		}
	}
	return RuntimeSymbol{}, false
}
