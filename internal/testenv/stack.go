// Package testenv starts, for end-to-end tests, the real services SkyDeploy runs on — the
// Temporal dev server, Redis and versitygw — on free ports with their data in the test's temp
// directory, plus a git server over HTTP. Nothing here is a mock.
//
// It must never import a role package (gateway, workers, activities, servehandler) or
// internal/platform: their own tests use it, and an import would make a cycle.
package testenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/devstack"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// RepoRoot returns the repository's root directory (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Binary returns the path of a tool installed by `make tools` into bin/, failing the test with
// a clear message when it is missing.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := devstack.FindBinary(filepath.Join(RepoRoot(t), "bin"), name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

// logWriter sends a service's output to a file in the test's temp dir, kept for post-mortems.
func logWriter(t testing.TB, dir, name string) io.Writer {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// S3 is a running versitygw.
type S3 struct {
	Proc     *devstack.Process
	Endpoint string
	Options  storage.Options
	// ReaderOptions are the same bucket with a user that may only read it, as the request
	// handler uses.
	ReaderOptions storage.Options
}

// Store returns a client of the bucket.
func (s *S3) Store() *storage.Store { return storage.New(s.Options) }

// StartS3 starts versitygw on a free port with a fresh bucket. A free port can be taken by
// another process between choosing and binding it (test packages run in parallel), so a start
// whose bucket cannot be created is retried on a new port.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		s, err := startS3Once(t)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("start versitygw: %v", lastErr)
	return nil
}

func startS3Once(t testing.TB) (*S3, error) {
	dir := t.TempDir()
	port := freePort(t)
	bin := Binary(t, "versitygw")
	p, err := devstack.Versity(devstack.VersityOptions{
		Binary: bin, Dir: filepath.Join(dir, "objects"), Port: port, IAMDir: filepath.Join(dir, "iam"),
		AccessKey: "testaccess", SecretKey: "testsecret-0123456789", Log: logWriter(t, dir, "versitygw"),
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := p.Start(ctx, 20*time.Second); err != nil {
		return nil, err
	}
	s := &S3{Proc: p, Endpoint: fmt.Sprintf("http://%s", p.Addr), Options: storage.Options{
		Endpoint: fmt.Sprintf("http://%s", p.Addr), Region: "us-east-1", Bucket: "skydeploy-test",
		AccessKey: "testaccess", SecretKey: "testsecret-0123456789", PathStyle: true,
	}}
	if err := s.Store().EnsureBucket(ctx); err != nil {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	s.ReaderOptions = s.Options
	s.ReaderOptions.AccessKey, s.ReaderOptions.SecretKey = "testreader", "testreader-secret-0123456789"
	if err := devstack.VersityCreateUser(ctx, bin, s.Endpoint, s.Options.AccessKey, s.Options.SecretKey, s.ReaderOptions.AccessKey, s.ReaderOptions.SecretKey); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	if err := s.Store().GrantReadOnly(ctx, s.ReaderOptions.AccessKey); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	return s, nil
}

// Redis is a running redis-server that requires a password (in URL).
type Redis struct {
	Proc     *devstack.Process
	URL      string
	Password string
}

// StartRedis starts a redis-server of its own on a free port (retrying on a new port when the
// chosen one was taken meanwhile).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := devstack.FindBinary("", "redis-server")
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		password := "test-redis-password-0123456789"
		p := devstack.Redis(devstack.RedisOptions{Binary: bin, Port: freePort(t), Password: password, Log: logWriter(t, t.TempDir(), "redis")})
		err := p.Start(context.Background(), 10*time.Second)
		if err == nil {
			// Make sure the listener is ours: it must still be running a moment later.
			select {
			case <-p.Done():
				err = fmt.Errorf("redis-server exited after start")
			case <-time.After(200 * time.Millisecond):
			}
		}
		if err == nil {
			t.Cleanup(func() { p.Stop(5 * time.Second) })
			return &Redis{Proc: p, URL: fmt.Sprintf("redis://:%s@%s/0", password, p.Addr), Password: password}
		}
		p.Stop(time.Second)
		if attempt == 3 {
			t.Fatalf("start redis-server: %v", err)
		}
	}
}

// Temporal is a running Temporal dev server.
type Temporal struct {
	Proc    *devstack.Process
	Address string
	UIURL   string
	DBFile  string
}

// StartTemporal starts the Temporal CLI dev server with SQLite persistence in a temp dir and
// SkyDeploy's search attributes registered.
func StartTemporal(t testing.TB) *Temporal {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	db := filepath.Join(dir, "temporal.db")
	p, err := devstack.Temporal(devstack.TemporalOptions{
		Binary: Binary(t, "temporal"), DBFile: db, Port: port, HTTPPort: freePort(t), Metrics: freePort(t),
		SearchAttributes: workflows.SearchAttributeTypes(), Log: logWriter(t, dir, "temporal"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	return &Temporal{Proc: p, Address: p.Addr, DBFile: db}
}

// Stack is Temporal, Redis and S3 together with a Config pointing at them.
type Stack struct {
	Temporal *Temporal
	Redis    *Redis
	S3       *S3
	Config   config.Config
}

// StartStack starts the three services (concurrently) and returns a Config for SkyDeploy's
// roles that points at them, allows the loopback git server, and keeps work files in temp dirs.
func StartStack(t testing.TB) *Stack {
	t.Helper()
	st := &Stack{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); st.Redis = StartRedis(t) }()
	go func() { defer wg.Done(); st.S3 = StartS3(t) }()
	st.Temporal = StartTemporal(t)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	cfg := config.Default()
	cfg.TemporalAddress = st.Temporal.Address
	cfg.RedisURL = st.Redis.URL
	cfg.RedisPrefix = "skydeploy-test:"
	cfg.S3Endpoint = st.S3.Options.Endpoint
	cfg.S3Bucket = st.S3.Options.Bucket
	cfg.S3AccessKey = st.S3.Options.AccessKey
	cfg.S3SecretKey = st.S3.Options.SecretKey
	cfg.ServeS3AccessKey = st.S3.ReaderOptions.AccessKey
	cfg.ServeS3SecretKey = st.S3.ReaderOptions.SecretKey
	cfg.AllowPrivateGitHosts = true
	cfg.AllowInsecureGit = true
	cfg.WorkDir = WorkDir(t)
	cfg.Sandbox = "bwrap"
	cfg.APIToken = "test-api-token-0123456789"
	cfg.DeployRatePerMinute = 10_000
	cfg.SecretKey = "test-secret-key-0123456789abcdef0123456789"
	st.Config = cfg
	return st
}

// WorkDir returns a temp directory that an unprivileged build user can enter (t.TempDir's
// parents are private to root on some machines).
func WorkDir(t testing.TB) string {
	t.Helper()
	base := filepath.Join(os.TempDir(), "skydeploy-test")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(base, 0o755)
	dir, err := os.MkdirTemp(base, "work-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Live returns a live-status client of the stack's Redis.
func (st *Stack) Live(t testing.TB) *livestatus.Store {
	t.Helper()
	l, err := newLive(st.Config)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Logger returns a logger that writes to the test log only when the test fails.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
