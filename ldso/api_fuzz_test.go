package ldso

import (
	"errors"
	"testing"
)

// FuzzAPIHostCalls calls libhalite.so's halite_syscall with the dl* call
// numbers and arbitrary arguments (guest pointers, handles, flags) on a
// sandbox thread. The property: the host never panics, the call returns
// or the thread faults cleanly (a CallError), and the loader stays usable.
func FuzzAPIHostCalls(f *testing.F) {
	for _, s := range [][6]uint64{
		{CallDlopen, 0, 2, 0, 0, 0},
		{CallDlopen, 1, 2, 0, 0, 0},
		{CallDlopen, 0x20000, 0x7fffffff, 0, 0, 0},
		{CallDlsym, 0, 0, 0, 0, 0},
		{CallDlsym, ^uint64(0), 0x10000, 0, 0, 0},
		{CallDlsym, 0x22000, 0x22000, 0, 0, 0},
		{CallDlclose, 0, 0, 0, 0, 0},
		{CallDlclose, 0x22000, 0, 0, 0, 0},
		{CallDlerror, 0, 0, 0, 0, 0},
		{CallDladdr, 0x22000, 0x22000, 0, 0, 0},
		{CallDladdr, 0x10000, 0xffffffffffff, 0, 0, 0},
		{CallDlIteratePhdr, 0, 0, 0, 0, 0},
		{CallDlIteratePhdr, 0, 8, 0, 0, 0},
		{CallDlvsym, 0, 0x22000, 0x22001, 0, 0},
		{5000, 0, 0, 0, 0, 0},
		{^uint64(0), 0, 0, 0, 0, 0},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	var out syncBuffer
	l, api := newAPILoader(f, f.TempDir(), &out)
	sys, ok := api.Symbol("halite_syscall")
	if !ok {
		f.Fatal("no halite_syscall")
	}
	base := l.Sandbox().Base()
	f.Fuzz(func(t *testing.T, nr, a1, a2, a3, a4, a5 uint64) {
		if nr < 1024 {
			nr = CallDlopen + nr%7 // only the API's calls, not exit & co.
		}
		// Small values are offsets into the sandbox (so that they hit
		// mapped memory); the rest are used as given.
		args := []uint64{a1, a2, a3, a4, a5}
		for i, a := range args {
			if a < 1<<32 && a > 0xffff {
				args[i] = base + a
			}
		}
		v, err := l.Call(sys, append([]uint64{nr}, args...)...)
		var ce *CallError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("halite_syscall(%d, %#x): %v", nr, args, err)
		}
		switch {
		case err != nil:
		case nr >= 2048 && int64(v) != -38:
			t.Errorf("halite_syscall(%d) = %d, want -ENOSYS", nr, int64(v))
		case nr == CallDlerror && v != 0:
			t.Errorf("dlerror() on a fresh thread = %#x, want NULL", v)
		}
	})
}
