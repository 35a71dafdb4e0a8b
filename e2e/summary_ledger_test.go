package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

// fakeTB is a test whose outcome the ledger tests decide.
type fakeTB struct {
	testing.TB
	name            string
	failed, skipped bool
	cleanups        []func()
}

func (f *fakeTB) Name() string      { return f.name }
func (f *fakeTB) Failed() bool      { return f.failed }
func (f *fakeTB) Skipped() bool     { return f.skipped }
func (f *fakeTB) Helper()           {}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// TestLedgerCountsOutcomesNotCalls: an item whose test failed (by Errorf or Fatalf, decided when
// the test ends) is not counted as survived, and the summary names it.
func TestLedgerCountsOutcomesNotCalls(t *testing.T) {
	var l ledger
	pass := &fakeTB{name: "TestFaults/redis"}
	fail := &fakeTB{name: "TestFaults/s3"}
	hostile := &fakeTB{name: "TestHostile/paths"}
	l.register(pass, kindFault, "Redis stopped")
	l.register(fail, kindFault, "object storage down")
	l.register(hostile, kindHostile, "path /../etc/passwd", "Host evil.example.com")
	skipped := &fakeTB{name: "TestFaults/nginx", skipped: true}
	l.register(skipped, kindFault, "nginx restarted") // not run: neither survived nor failed
	fail.failed = true                                // a check after the registration failed
	pass.end()
	fail.end()
	hostile.end()
	skipped.end()
	l.deployments, l.files, l.variants = 3, 7, 4

	s := l.summary(true)
	for _, want := range []string{
		"fault-injection: FAILED: 1 of 2 faults survived; 2 of 2 hostile inputs rejected or neutralised; 3 published deployments (7 files, 4 compressed variants)",
		`failed: fault "object storage down" (TestFaults/s3)`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Redis stopped\" (") {
		t.Errorf("summary names a passed fault as failed:\n%s", s)
	}

	var ok ledger
	okTB := &fakeTB{name: "TestFaults/redis"}
	ok.register(okTB, kindFault, "Redis stopped")
	okTB.end()
	if s := ok.summary(false); !strings.HasPrefix(s, "fault-injection: 1 faults injected and survived; 0 hostile inputs") || !strings.Contains(s, "faults: Redis stopped") {
		t.Errorf("passing summary:\n%s", s)
	}
	// A failure elsewhere in the run is never summarised as a success.
	if s := ok.summary(true); !strings.Contains(s, "FAILED") || !strings.Contains(s, "a test outside the tallied items") {
		t.Errorf("run failed elsewhere:\n%s", s)
	}
	var empty ledger
	if s := empty.summary(false); s != "" {
		t.Errorf("nothing tallied printed %q", s)
	}
}

// TestVerifyFileRehashesCompressedVariants: a compressed variant of the right size whose
// content is another file's is caught, as are a truncated blob and an unknown encoding.
func TestVerifyFileRehashesCompressedVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("needs versitygw")
	}
	store := testenv.StartS3(t).Store()
	ctx := context.Background()
	good, other := []byte("body{color:red}"), []byte("body{color:tan}")
	sum := sha256.Sum256(good)
	sha := hex.EncodeToString(sum[:])
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		_, _ = w.Write(b)
		_ = w.Close()
		return out.Bytes()
	}
	br := func(b []byte) []byte {
		var out bytes.Buffer
		w := brotli.NewWriterLevel(&out, brotli.BestCompression)
		_, _ = w.Write(b)
		_ = w.Close()
		return out.Bytes()
	}
	if len(gz(good)) != len(gz(other)) {
		t.Fatalf("fixture: the two gzip variants differ in size (%d, %d)", len(gz(good)), len(gz(other)))
	}
	put := func(key string, data []byte) {
		if err := store.Put(ctx, key, data, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(storage.BlobKey(sha), good)
	put(storage.BlobVariantKey(sha, "gz"), gz(other)) // right size, wrong content
	put(storage.BlobVariantKey(sha, "br"), br(good))
	f := manifest.File{Path: "app.css", Size: int64(len(good)), SHA256: sha,
		Encodings: map[string]int64{"gz": int64(len(gz(good))), "br": int64(len(br(good)))}}
	problems := verifyFile(ctx, store, f, map[string]bool{})
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "gz variant holds") {
		t.Errorf("problems = %q, want exactly the gz variant's wrong content", problems)
	}

	put(storage.BlobVariantKey(sha, "gz"), gz(good))
	if problems := verifyFile(ctx, store, f, map[string]bool{}); len(problems) != 0 {
		t.Errorf("a whole file reported %q", problems)
	}
	put(storage.BlobVariantKey(sha, "br"), br(good)[:len(br(good))-2])
	f.Encodings["zstd"] = 10
	problems = verifyFile(ctx, store, f, map[string]bool{})
	if len(problems) != 2 || !strings.Contains(strings.Join(problems, "|"), "br variant is") || !strings.Contains(strings.Join(problems, "|"), `unknown encoding "zstd"`) {
		t.Errorf("problems = %q, want the short br variant and the unknown encoding", problems)
	}
}
