package main

import (
	"os"
	"testing"
)

// envAsCLI makes the test binary behave as the halite command itself, so
// that tests can run it as a child process (e.g. CC='halite cc' make).
const envAsCLI = "HALITE_TEST_BINARY_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envAsCLI) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
