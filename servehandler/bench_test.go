package servehandler

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a minimal ResponseWriter, so the benchmarks measure the handler.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

func benchHandler(b *testing.B) *Handler {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{
		"index.html":             "<!doctype html><h1>hi</h1>",
		"assets/app.3f2a1c9b.js": strings.Repeat("x", 20<<10),
		"assets/vendor.js":       strings.Repeat("y", 150<<10),
	}, "assets/vendor.js")
	store.setAlias("blog", dep1)
	h := newTestHandler(b, store, Options{AccessLogEvery: -1})
	for _, p := range []string{"/", "/assets/app.3f2a1c9b.js", "/assets/vendor.js"} {
		get(h, "blog.localhost", p)
		get(h, "blog.localhost", p, "Accept-Encoding", "br")
	}
	return h
}

func benchServe(b *testing.B, host, target string, hdr ...string) {
	h := benchHandler(b)
	r := httptest.NewRequest("GET", target, nil)
	r.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: make(http.Header, 16)}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, r)
			if w.code != 200 && w.code != 304 {
				b.Fatalf("status %d", w.code)
			}
		}
	})
}

func BenchmarkCacheHitHTMLDeploymentHost(b *testing.B) { benchServe(b, dep1+".localhost", "/") }
func BenchmarkCacheHitHTMLAliasHost(b *testing.B)      { benchServe(b, "blog.localhost:3002", "/") }
func BenchmarkCacheHitAsset20K(b *testing.B) {
	benchServe(b, "blog.localhost", "/assets/app.3f2a1c9b.js")
}
func BenchmarkCacheHitAsset150KBrotli(b *testing.B) {
	benchServe(b, "blog.localhost", "/assets/vendor.js", "Accept-Encoding", "gzip, deflate, br")
}
func BenchmarkNotModified(b *testing.B) {
	h := benchHandler(b)
	etag := get(h, "blog.localhost", "/").Header().Get("ETag")
	_ = h
	benchServe(b, "blog.localhost", "/", "If-None-Match", etag)
}

// BenchmarkHTMLWithoutGin and BenchmarkHTMLThroughGin compare the handler called directly
// with the handler behind Gin's router, on one goroutine: Gin's share is small, which is why
// requests the fast lane does not answer still go through it.
func BenchmarkHTMLWithoutGin(b *testing.B) {
	h := benchHandler(b)
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "blog.localhost"
	b.ReportAllocs()
	b.ResetTimer()
	w := &discardWriter{h: make(http.Header, 16)}
	for b.Loop() {
		clear(w.h)
		h.serve(w, r)
	}
}

func BenchmarkHTMLThroughGin(b *testing.B) {
	h := benchHandler(b)
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "blog.localhost"
	b.ReportAllocs()
	b.ResetTimer()
	w := &discardWriter{h: make(http.Header, 16)}
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
