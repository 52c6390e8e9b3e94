package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"halite/sandbox"
)

func needConformance(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	s, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Skipf("no sandbox on this machine: %v", err)
	}
	s.Close()
}

func TestConformanceCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		last string // last line of stdout
		err  string // in stderr
	}{
		{"one passing scenario", []string{"conformance", "--run", "^error-missing-file$"}, 0, "1 passed, 0 failed", ""},
		{"no match", []string{"conformance", "--run", "^no-such-scenario$"}, 1, "", "matches no scenario"},
		{"bad pattern", []string{"conformance", "--run", "("}, 2, "", "--run"},
		{"extra argument", []string{"conformance", "x"}, 2, "", "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code == 0 {
				needConformance(t)
			}
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if tc.last != "" && lines[len(lines)-1] != tc.last {
				t.Errorf("last line %q, want %q\n%s", lines[len(lines)-1], tc.last, out.String())
			}
			if tc.err != "" && !strings.Contains(errb.String(), tc.err) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.err)
			}
		})
	}
}

func TestConformanceJSON(t *testing.T) {
	needConformance(t)
	var out, errb bytes.Buffer
	if code := run([]string{"conformance", "--json", "--run", "^error-dlsym-missing$"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var got struct {
		Results []conformanceResult `json:"results"`
		Passed  int                 `json:"passed"`
		Failed  int                 `json:"failed"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got.Passed != 1 || got.Failed != 0 || len(got.Results) != 1 || got.Results[0].Status != "pass" || len(got.Results[0].Halite) == 0 {
		t.Errorf("got %+v", got)
	}
}
