package certstore

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

// startStores starts versitygw and returns a Store of the request handler's user, which the
// bucket policy lets read everything and write only under tls/, and the platform's store.
func startStores(t *testing.T) (*Store, *storage.Store) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	s3 := testenv.StartS3(t)
	admin := s3.Store()
	if err := admin.GrantReadOnly(context.Background(), s3.ReaderOptions.AccessKey, storage.TLSPrefix); err != nil {
		t.Fatal(err)
	}
	return New(storage.New(s3.ReaderOptions), testenv.Logger(t)), admin
}

func TestStorageOverVersity(t *testing.T) {
	cs, admin := startStores(t)
	ctx := context.Background()
	reader := cs.objects

	// The handler's user writes certificates, and nothing else.
	if err := reader.Put(ctx, storage.AliasKey("blog"), []byte(`{}`), storage.PutOptions{}); err == nil {
		t.Fatal("the request handler's user wrote an alias: the bucket policy lets it write outside tls/")
	}
	files := map[string]string{
		"certificates/ca/shop.test/shop.test.crt":  "CERT",
		"certificates/ca/shop.test/shop.test.key":  "KEY",
		"certificates/ca/shop.test/shop.test.json": "{}",
		"certificates/ca/www.test/www.test.crt":    "CERT2",
		"acme/ca/users/a/a.json":                   "{}",
	}
	for k, v := range files {
		if err := cs.Store(ctx, k, []byte(v)); err != nil {
			t.Fatalf("Store %s: %v", k, err)
		}
	}
	if data, err := admin.GetBytes(ctx, "tls/certificates/ca/shop.test/shop.test.crt", 0); err != nil || string(data) != "CERT" {
		t.Fatalf("object under tls/: %q, %v", data, err)
	}
	if data, err := cs.Load(ctx, "certificates/ca/shop.test/shop.test.key"); err != nil || string(data) != "KEY" {
		t.Fatalf("Load = %q, %v", data, err)
	}
	if _, err := cs.Load(ctx, "certificates/ca/none/none.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing key: %v, want fs.ErrNotExist", err)
	}
	if !cs.Exists(ctx, "certificates/ca/shop.test/shop.test.crt") || !cs.Exists(ctx, "certificates/ca") || cs.Exists(ctx, "certificates/ca/shop") {
		t.Fatal("Exists of a key, a directory, a prefix that is neither")
	}
	top, err := cs.List(ctx, "certificates/ca", false)
	if err != nil || !slices.Equal(top, []string{"certificates/ca/shop.test", "certificates/ca/www.test"}) {
		t.Fatalf("List = %v, %v", top, err)
	}
	all, err := cs.List(ctx, "certificates", true)
	if err != nil || len(all) != 4 {
		t.Fatalf("recursive List = %v, %v", all, err)
	}
	if ki, err := cs.Stat(ctx, "certificates/ca/shop.test/shop.test.crt"); err != nil || !ki.IsTerminal || ki.Size != 4 || ki.Modified.IsZero() {
		t.Fatalf("Stat = %+v, %v", ki, err)
	}
	if ki, err := cs.Stat(ctx, "certificates/ca/shop.test"); err != nil || ki.IsTerminal {
		t.Fatalf("Stat of a directory = %+v, %v", ki, err)
	}
	if _, err := cs.Stat(ctx, "nothing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of nothing: %v", err)
	}
	if err := cs.Delete(ctx, "certificates/ca/shop.test"); err != nil {
		t.Fatal(err)
	}
	if cs.Exists(ctx, "certificates/ca/shop.test/shop.test.key") || !cs.Exists(ctx, "certificates/ca/www.test/www.test.crt") {
		t.Fatal("Delete of a directory removed the wrong keys")
	}
}

func TestLocks(t *testing.T) {
	a, admin := startStores(t)
	b := New(a.objects, testenv.Logger(t))
	for _, s := range []*Store{a, b} {
		s.LockTTL, s.PollInterval = 2*time.Second, 50*time.Millisecond
	}
	ctx := context.Background()

	if err := a.Lock(ctx, "issue_cert_shop.test"); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(ctx, "issue_cert_shop.test"); err != nil || ok {
		t.Fatalf("a second replica took a held lock: %v, %v", ok, err)
	}
	// The holder keeps it alive past its TTL.
	got := make(chan time.Time, 1)
	go func() {
		if err := b.Lock(ctx, "issue_cert_shop.test"); err != nil {
			t.Error(err)
		}
		got <- time.Now()
	}()
	time.Sleep(5 * time.Second)
	select {
	case <-got:
		t.Fatal("a lock kept alive by its holder was taken after its TTL")
	default:
	}
	released := time.Now()
	if err := a.Unlock(ctx, "issue_cert_shop.test"); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		if at.Sub(released) > time.Second {
			t.Errorf("waiter got the lock %s after release", at.Sub(released))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never got the released lock")
	}
	if err := b.Unlock(ctx, "issue_cert_shop.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := admin.Exists(ctx, a.LockKey("issue_cert_shop.test")); ok {
		t.Fatal("Unlock left the lock object")
	}

	// A holder that crashed (its lock expired, nobody refreshes it) blocks others for at most
	// the TTL.
	stale, _ := json.Marshal(lockRecord{Owner: "crashed", Expires: time.Now().Add(-time.Second)})
	if err := admin.Put(ctx, a.LockKey("renew_cert_www.test"), stale, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.Lock(ctx, "renew_cert_www.test"); err != nil || time.Since(start) > time.Second {
		t.Fatalf("taking over an expired lock: %v after %s", err, time.Since(start))
	}
	if ok, _ := a.TryLock(ctx, "renew_cert_www.test"); ok {
		t.Fatal("two holders after a takeover")
	}
	if err := b.Unlock(ctx, "renew_cert_www.test"); err != nil {
		t.Fatal(err)
	}

	// Waiting honours the context.
	if err := a.Lock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := b.Lock(cctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with an ended context: %v", err)
	}
	_ = a.Unlock(ctx, "x")
}
