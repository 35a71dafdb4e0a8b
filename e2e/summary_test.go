package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// The fault and abuse suites register what they inject; TestMain prints one summary of the
// outcomes and writes it to test-artifacts/faults-summary.txt for `make test` to show.
//
// An item counts only when the test that registered it passed: the outcome is read when that
// test ends, after all its checks (t.Errorf as well as t.Fatalf). Register an item at the start
// of the (sub)test that tries it, so that a test stopped early still names it as failed.

// Kinds of tallied items.
const (
	kindFault   = "fault"
	kindHostile = "hostile input"
)

// tallyItem is one fault injected or one hostile input tried, with its outcome.
type tallyItem struct {
	kind, name string
	test       string // the test that tried it
	passed     bool
	skipped    bool // the test was skipped: neither passed nor failed
}

// ledger collects the outcomes of one test run.
type ledger struct {
	mu    sync.Mutex
	items []tallyItem
	// failedTests are end-to-end tests (with a platform env) that failed.
	failedTests []string
	// Published deployments checked against their manifests, and what was wrong with them.
	deployments, files, variants int
	integrityErrors              []string
}

// tally is the run's ledger.
var tally ledger

// register adds items of kind tried by t; each counts as passed only if t has not failed when it
// ends.
func (l *ledger) register(t testing.TB, kind string, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, n := range names {
			l.items = append(l.items, tallyItem{kind: kind, name: n, test: t.Name(), passed: !t.Failed() && !t.Skipped(), skipped: !t.Failed() && t.Skipped()})
		}
	})
}

// tallyFault registers a fault injected into the real stack by t; it counts as survived only if
// t passes.
func tallyFault(t testing.TB, name string) { tally.register(t, kindFault, name) }

// tallyHostile registers hostile inputs tried by t; they count as rejected or neutralised only
// if t passes.
func tallyHostile(t testing.TB, names ...string) { tally.register(t, kindHostile, names...) }

// envEnded is called when an end-to-end test that ran a platform env ends (tests of this
// package run one at a time): it records whether the test failed.
func (l *ledger) envEnded(t testing.TB) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Failed() {
		l.failedTests = append(l.failedTests, t.Name())
	}
}

func (l *ledger) integrityError(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.integrityErrors = append(l.integrityErrors, msg)
}

// summary is the report of the run; runFailed says whether go test failed. It is empty when
// nothing was tallied or checked and nothing failed.
func (l *ledger) summary(runFailed bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := func(kind string) (passed, all int, failed []string) {
		for _, it := range l.items {
			if it.kind != kind || it.skipped {
				continue
			}
			all++
			if it.passed {
				passed++
			} else {
				failed = append(failed, fmt.Sprintf("%s %q (%s)", it.kind, it.name, it.test))
			}
		}
		return passed, all, failed
	}
	fp, fAll, fFailed := count(kindFault)
	hp, hAll, hFailed := count(kindHostile)
	if fAll+hAll+l.deployments == 0 && !runFailed {
		return ""
	}
	checked := fmt.Sprintf("%d published deployments (%d files, %d compressed variants) checked against their manifests, %d lost or corrupt",
		l.deployments, l.files, l.variants, len(l.integrityErrors))
	var failures []string
	failures = append(failures, fFailed...)
	failures = append(failures, hFailed...)
	for _, name := range l.failedTests {
		failures = append(failures, "test "+name)
	}
	failures = append(failures, l.integrityErrors...)
	var b strings.Builder
	if !runFailed && len(failures) == 0 {
		fmt.Fprintf(&b, "fault-injection: %d faults injected and survived; %d hostile inputs tried and rejected or neutralised; %s\n", fp, hp, checked)
		var names []string
		for _, it := range l.items {
			if it.kind == kindFault {
				names = append(names, it.name)
			}
		}
		sort.Strings(names)
		if len(names) > 0 {
			fmt.Fprintf(&b, "  faults: %s\n", strings.Join(names, "; "))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "fault-injection: FAILED: %d of %d faults survived; %d of %d hostile inputs rejected or neutralised; %s\n", fp, fAll, hp, hAll, checked)
	if len(failures) == 0 {
		failures = []string{"a test outside the tallied items and the end-to-end envs (see the go test output above)"}
	}
	for _, f := range failures {
		fmt.Fprintf(&b, "  failed: %s\n", f)
	}
	return b.String()
}

// verifyDeployments checks that every published deployment in the bucket is whole: each file
// of its manifest is stored with the size and SHA-256 the manifest names, and each compressed
// variant has its recorded size and decompresses to those same bytes. Every test env runs it
// before it stops, so no test can lose or corrupt data unnoticed.
func verifyDeployments(t testing.TB, store *storage.Store) {
	ctx := context.Background()
	objs, err := store.List(ctx, storage.DeploymentsPrefix)
	if err != nil {
		t.Errorf("list deployments: %v", err)
		return
	}
	checked := map[string]bool{} // blob keys already verified
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, "/manifest.json") {
			continue
		}
		data, err := store.GetBytes(ctx, o.Key, 64<<20)
		if err != nil {
			t.Errorf("read %s: %v", o.Key, err)
			continue
		}
		m, err := manifest.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", o.Key, err)
			continue
		}
		variants := 0
		for _, f := range m.Files {
			for _, problem := range verifyFile(ctx, store, f, checked) {
				msg := fmt.Sprintf("deployment %s: file %s: %s", m.DeploymentID, f.Path, problem)
				t.Error(msg)
				tally.integrityError(msg)
			}
			variants += len(f.Encodings)
		}
		tally.mu.Lock()
		tally.deployments++
		tally.files += len(m.Files)
		tally.variants += variants
		tally.mu.Unlock()
	}
}

// verifyFile checks one manifest entry's blob and its compressed variants, skipping blob keys
// in checked (and adding those that passed). It returns what is wrong.
func verifyFile(ctx context.Context, store *storage.Store, f manifest.File, checked map[string]bool) []string {
	var problems []string
	check := func(key, what string, wantSize int64, decode func(io.Reader) (io.Reader, error)) {
		if checked[key] {
			return
		}
		stored, err := store.GetBytes(ctx, key, 1<<30)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s missing: %v", what, err))
			return
		}
		if int64(len(stored)) != wantSize {
			problems = append(problems, fmt.Sprintf("%s is %d bytes, the manifest says %d", what, len(stored), wantSize))
			return
		}
		r, err := decode(bytes.NewReader(stored))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s does not decode: %v", what, err))
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, r)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s does not decode: %v", what, err))
			return
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 || n != f.Size {
			problems = append(problems, fmt.Sprintf("%s holds %d bytes with SHA-256 %s, the manifest says %d bytes with %s", what, n, sum, f.Size, f.SHA256))
			return
		}
		checked[key] = true
	}
	check(storage.BlobKey(f.SHA256), "content", f.Size, func(r io.Reader) (io.Reader, error) { return r, nil })
	encs := make([]string, 0, len(f.Encodings))
	for enc := range f.Encodings {
		encs = append(encs, enc)
	}
	sort.Strings(encs)
	for _, enc := range encs {
		what := enc + " variant"
		switch enc {
		case "gz":
			check(storage.BlobVariantKey(f.SHA256, enc), what, f.Encodings[enc], func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) })
		case "br":
			check(storage.BlobVariantKey(f.SHA256, enc), what, f.Encodings[enc], func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil })
		default:
			problems = append(problems, fmt.Sprintf("unknown encoding %q in the manifest", enc))
		}
	}
	return problems
}

func TestMain(m *testing.M) {
	code := m.Run()
	if s := tally.summary(code != 0); s != "" {
		fmt.Print(s)
		if dir := os.Getenv("SKYDEPLOY_TEST_ARTIFACTS"); dir != "" {
			_ = os.MkdirAll(dir, 0o755)
			_ = os.WriteFile(filepath.Join(dir, "faults-summary.txt"), []byte(s), 0o644)
		}
	}
	os.Exit(code)
}
