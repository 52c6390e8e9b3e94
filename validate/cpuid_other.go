//go:build !amd64

package validate

// HostFeatures returns 0 on machines that are not x86-64: no optional
// feature is known to be present.
func HostFeatures() Features { return 0 }
