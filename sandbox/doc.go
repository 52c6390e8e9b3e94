// Package sandbox is halite's runtime: it owns a sandbox's address space,
// the raw untrusted threads that run sandboxed code, the host calls they
// make and the faults they take. It never parses ELF files or decodes
// instructions (validation is the validate package's).
package sandbox
