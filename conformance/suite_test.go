package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeBackend returns canned logs, to test Check and WriteTable without a
// toolchain.
type fakeBackend map[string][]string

func (fakeBackend) Name() string { return "fake" }
func (f fakeBackend) Run(_ context.Context, s *Scenario) ([]string, error) {
	l, ok := f[s.Name]
	if !ok {
		return nil, errors.New("cannot build\nsecond line")
	}
	return l, nil
}

func TestCheckAndTable(t *testing.T) {
	mk := func(name, differs string) *Scenario {
		return &Scenario{Name: name, Category: "load", Differs: differs}
	}
	scs := []*Scenario{mk("a-pass", ""), mk("b-fail", ""), mk("c-differs", "lazy binding"), mk("d-error", "")}
	golden := map[string][]string{"a-pass": {"x", "exit"}, "b-fail": {"y"}, "c-differs": {"z"}, "d-error": {"w"}}
	be := fakeBackend{"a-pass": {"x", "exit"}, "b-fail": {"y2"}, "c-differs": {"z"}}
	rs := Check(context.Background(), be, scs, func(n string) ([]string, error) { return golden[n], nil }, 2)
	var got []Status
	for _, r := range rs {
		got = append(got, r.Status)
	}
	if d := cmp.Diff([]Status{Pass, Fail, Differs, Error}, got); d != "" {
		t.Fatalf("statuses (-want +got):\n%s", d)
	}
	if rs[1].Diff == "" || rs[0].Diff != "" {
		t.Errorf("diffs: pass %q, fail %q", rs[0].Diff, rs[1].Diff)
	}
	var b strings.Builder
	p, f := WriteTable(&b, "fake", rs)
	if p != 1 || f != 2 {
		t.Errorf("counts %d passed %d failed, want 1 and 2", p, f)
	}
	want := `scenario   category    fake
a-pass     load        pass
b-fail     load        fail
c-differs  load        differs (deliberate: lazy binding)
d-error    load        error: cannot build
1 deliberate differences (not counted)
1 passed, 2 failed
`
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

// TestEmbeddedSuite checks that the embedded copy (what a command would run)
// is the suite on disk, with a golden log for every scenario.
func TestEmbeddedSuite(t *testing.T) {
	emb, err := Suite()
	if err != nil {
		t.Fatal(err)
	}
	disk, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(emb) != len(disk) {
		t.Fatalf("embedded suite has %d scenarios, disk %d", len(emb), len(disk))
	}
	for i := range emb {
		if emb[i].Name != disk[i].Name {
			t.Fatalf("scenario %d: embedded %s, disk %s", i, emb[i].Name, disk[i].Name)
		}
		g, err := Golden(emb[i].Name)
		if err != nil || len(g) == 0 || g[len(g)-1] != "exit" && !strings.HasPrefix(g[len(g)-1], "log: ") {
			t.Errorf("%s: golden log %v, %v", emb[i].Name, g, err)
		}
	}
}
