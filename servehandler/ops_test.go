package servehandler

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAdminEndpoints(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "home", "a.js": "aaa"})
	h := newTestHandler(t, store, Options{})
	get(h, dep1+".localhost", "/")
	get(h, dep1+".localhost", "/")
	get(h, dep1+".localhost", "/nope")
	admin := h.AdminHandler()

	if w := get(admin, "x", "/healthz"); w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("healthz: %d %q", w.Code, w.Body.String())
	}
	if w := get(admin, "x", "/readyz"); w.Code != 200 {
		t.Errorf("readyz: %d", w.Code)
	}
	w := get(admin, "x", "/metrics")
	for _, want := range []string{
		`skydeploy_serve_requests_total{code="2xx"} 2`,
		`skydeploy_serve_requests_total{code="4xx"} 1`,
		`skydeploy_serve_cache_requests_total{result="hit"} 1`,
		`skydeploy_serve_cache_requests_total{result="miss"} 1`,
		`skydeploy_serve_response_bytes_total`,
		`skydeploy_serve_request_duration_seconds_bucket`,
		`skydeploy_serve_cache_bytes`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// readyz follows storage (checked at most once a second); healthz does not.
	store.down.Store(true)
	h.ready.mu.Lock()
	h.ready.checked = time.Time{}
	h.ready.mu.Unlock()
	if w := get(admin, "x", "/readyz"); w.Code != 503 {
		t.Errorf("readyz with storage down: %d", w.Code)
	}
	if w := get(admin, "x", "/healthz"); w.Code != 200 {
		t.Errorf("healthz with storage down: %d", w.Code)
	}
	if w := get(h, dep1+".localhost", "/"); w.Code != 200 {
		t.Errorf("cached site with storage down: %d", w.Code)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLog(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "home"})
	tests := []struct {
		name  string
		opts  Options
		level slog.Level
		lines int
	}{
		{"every request", Options{}, slog.LevelInfo, 10},
		{"one in five", Options{AccessLogEvery: 5}, slog.LevelInfo, 2},
		{"off", Options{AccessLogEvery: -1}, slog.LevelInfo, 0},
		{"debug level, logger at info", Options{AccessLogLevel: slog.LevelDebug}, slog.LevelInfo, 0},
		{"debug level, logger at debug", Options{AccessLogLevel: slog.LevelDebug}, slog.LevelDebug, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			tt.opts.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level}))
			h := New(store, tt.opts)
			for range 10 {
				get(h, dep1+".localhost", "/?secret=1")
			}
			lines := strings.Count(buf.String(), "msg=request")
			if lines != tt.lines {
				t.Fatalf("%d lines, want %d:\n%s", lines, tt.lines, buf.String())
			}
			if lines > 0 {
				for _, f := range []string{"host=" + dep1 + ".localhost", "path=/ ", "status=200", "bytes=4", "duration=", "cache=", "deployment=" + dep1} {
					if !strings.Contains(buf.String(), f) {
						t.Errorf("access line lacks %q: %s", f, buf.String())
					}
				}
				if strings.Contains(buf.String(), "secret") {
					t.Error("query strings are not logged")
				}
			}
		})
	}
	// 5xx are logged even when access lines are off.
	var buf syncBuffer
	down := newFakeStore()
	down.down.Store(true)
	h := New(down, Options{Log: slog.New(slog.NewTextHandler(&buf, nil)), AccessLogEvery: -1})
	get(h, dep1+".localhost", "/")
	if !strings.Contains(buf.String(), "status=503") {
		t.Errorf("5xx not logged: %s", buf.String())
	}
}

func TestPanicIsA500WithoutDetails(t *testing.T) {
	store := &panicStore{}
	h := newTestHandler(t, store, Options{})
	w := get(h, dep1+".localhost", "/")
	if w.Code != 500 || strings.Contains(w.Body.String(), "boom") || strings.Contains(w.Body.String(), ".go") {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

type panicStore struct{ fakeStore }

func (p *panicStore) GetBytes(ctx context.Context, key string, limit int64) ([]byte, error) {
	panic("boom")
}

func TestServerLimits(t *testing.T) {
	srv := NewServer(newTestHandler(t, newFakeStore(), Options{}))
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes != 16<<10 {
		t.Fatalf("server limits %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Host = dep1 + ".localhost"
	req.Header.Set("X-Big", strings.Repeat("x", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge header: %d", resp.StatusCode)
	}
}

// TestGracefulShutdown: a request in flight when the context ends is completed, new
// connections are refused, and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"slow.txt": "finished"})
	release := make(chan struct{})
	started := make(chan struct{})
	store.gate = func(key string) {
		if strings.HasPrefix(key, "blobs/") {
			close(started)
			<-release
		}
	}
	h := newTestHandler(t, store, Options{ShutdownGrace: 5 * time.Second})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	adminLn, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, h, ln, adminLn) }()

	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/slow.txt", nil)
		req.Host = dep1 + ".localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond)
	if !h.draining.Load() {
		t.Error("not draining")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("new connections still accepted during shutdown")
	}
	close(release)
	r := <-res
	if r.err != nil || r.code != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %+v", r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestRunReportsListenErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	err := Run(context.Background(), newTestHandler(t, newFakeStore(), Options{}), ln.Addr().String(), "")
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run on a used port: %v", err)
	}
}
