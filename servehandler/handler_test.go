package servehandler

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// siteFiles is the test site: pages, a directory index, clean URLs, assets, a 404 page.
var siteFiles = map[string]string{
	"index.html":               "<h1>home</h1>",
	"about.html":               "<h1>about</h1>",
	"docs/index.html":          "<h1>docs</h1>",
	"docs/intro.html":          "<h1>intro</h1>",
	"blog.html":                "<h1>blog page</h1>",
	"blog/index.html":          "<h1>blog index</h1>",
	"404.html":                 "<h1>site 404</h1>",
	"app.js":                   "console.log('app')",
	"assets/app.3f2a1c9b.js":   "console.log('hashed')",
	"assets/index-BkT3x9aQ.js": "console.log('vite')",
	"_next/static/chunks/x.js": "next",
	"logo.png":                 "\x89PNG....",
	"style.css":                "body{color:red}",
	"data/report.json":         `{"ok":true}`,
	"evil.com/index.html":      "<h1>a directory named evil.com</h1>",
}

func TestRouting(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "one"})
	store.publish(dep2, false, map[string]string{"index.html": "two"})
	store.publish(dep3, false, map[string]string{"index.html": "three"})
	store.setAlias("blog", dep1)
	store.setAlias("blog--feature-x", dep2)
	store.setDomain("www.example.com", "blog")
	store.setDomain("broken.example.com", "nothing")
	h := newTestHandler(t, store, Options{BaseDomain: "localhost"})

	tests := []struct {
		name   string
		host   string
		hdr    []string
		status int
		body   string
	}{
		{"deployment", dep3 + ".localhost", nil, 200, "three"},
		{"deployment with port", dep3 + ".localhost:3002", nil, 200, "three"},
		{"deployment upper case, trailing dot", strings.ToUpper(dep3) + ".LOCALHOST.", nil, 200, "three"},
		{"project alias", "blog.localhost", nil, 200, "one"},
		{"branch alias", "blog--feature-x.localhost:3002", nil, 200, "two"},
		{"custom domain", "www.example.com", nil, 200, "one"},
		{"custom domain with port and case", "WWW.Example.com:8080", nil, 200, "one"},
		{"unknown deployment", "9zzzzzzzzzzz.localhost", nil, 404, "404 Not Found"},
		{"unknown project", "nope.localhost", nil, 404, "404 Not Found"},
		{"unknown branch", "blog--nope.localhost", nil, 404, "404 Not Found"},
		{"unknown custom domain", "www.other.org", nil, 404, "404 Not Found"},
		{"custom domain of a project without alias", "broken.example.com", nil, 404, "404 Not Found"},
		{"base domain itself", "localhost:3002", nil, 404, "404 Not Found"},
		{"nested labels", "a.b.localhost", nil, 404, "404 Not Found"},
		{"nested under a deployment", "x." + dep1 + ".localhost", nil, 404, "404 Not Found"},
		{"IPv4", "127.0.0.1:3002", nil, 404, "404 Not Found"},
		{"IPv6", "[::1]:3002", nil, 404, "404 Not Found"},
		{"garbage", "bl@g.localhost", nil, 404, "404 Not Found"},
		{"X-Forwarded-Host is not trusted", "nope.localhost", []string{"X-Forwarded-Host", "blog.localhost"}, 404, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, tt.host, "/", tt.hdr...)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("status %d body %q, want %d containing %q", w.Code, w.Body.String(), tt.status, tt.body)
			}
			if tt.status == 404 {
				if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("404 Content-Type %q", ct)
				}
				if strings.Contains(w.Body.String(), "goroutine") || strings.Contains(w.Body.String(), ".go:") {
					t.Errorf("404 page leaks internals: %s", w.Body.String())
				}
			}
		})
	}
	// Invalid hosts never reach storage.
	for _, k := range store.keysRead() {
		if strings.Contains(k, "a.b") || strings.Contains(k, "127.0.0.1") || strings.Contains(k, "@") {
			t.Errorf("storage was asked for %q", k)
		}
	}
}

func TestAliasMovesWithinTTL(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "one", "old.html": "old"})
	store.publish(dep2, false, map[string]string{"index.html": "two"})
	store.setAlias("blog", dep1)
	h := newTestHandler(t, store, Options{AliasTTL: 100 * time.Millisecond})

	if w := get(h, "blog.localhost", "/"); w.Body.String() != "one" {
		t.Fatalf("got %q", w.Body.String())
	}
	store.setAlias("blog", dep2)
	if w := get(h, "blog.localhost", "/"); w.Body.String() != "one" {
		t.Fatalf("within the TTL the cached alias is used, got %q", w.Body.String())
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		w := get(h, "blog.localhost", "/")
		if w.Body.String() == "two" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new alias not served after 3s: %q", w.Body.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The old deployment's files are gone from the project's host...
	if w := get(h, "blog.localhost", "/old"); w.Code != 404 {
		t.Errorf("old page on the project host: %d", w.Code)
	}
	// ...and still served, immutably, from the deployment's own host.
	if w := get(h, dep1+".localhost", "/old"); w.Code != 200 || w.Body.String() != "old" {
		t.Errorf("old deployment: %d %q", w.Code, w.Body.String())
	}
	// The alias pointer is read once per TTL, not once per request.
	store.resetReads()
	for range 50 {
		get(h, "blog.localhost", "/")
	}
	if n := store.readCount("aliases/blog.json"); n > 1 {
		t.Errorf("alias read %d times for 50 requests within one TTL", n)
	}
}

func TestUnknownDeploymentIsRememberedBriefly(t *testing.T) {
	store := newFakeStore()
	h := newTestHandler(t, store, Options{AliasTTL: 50 * time.Millisecond})
	for range 20 {
		if w := get(h, dep1+".localhost", "/"); w.Code != 404 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if n := store.readCount("deployments/" + dep1 + "/manifest.json"); n != 1 {
		t.Errorf("missing manifest read %d times, want 1", n)
	}
	// Publishing makes it live once the negative entry expires.
	store.publish(dep1, false, map[string]string{"index.html": "live"})
	time.Sleep(60 * time.Millisecond)
	if w := get(h, dep1+".localhost", "/"); w.Code != 200 || w.Body.String() != "live" {
		t.Errorf("after publish: %d %q", w.Code, w.Body.String())
	}
}

func TestHTTPSemantics(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, siteFiles)
	h := newTestHandler(t, store, Options{})
	host := dep1 + ".localhost"

	tests := []struct {
		target   string
		status   int
		body     string
		location string
		ctype    string
		cache    string
	}{
		{"/", 200, "<h1>home</h1>", "", "text/html; charset=utf-8", cacheRevalidate},
		{"/index.html", 200, "<h1>home</h1>", "", "text/html; charset=utf-8", cacheRevalidate},
		{"/docs/", 200, "<h1>docs</h1>", "", "text/html; charset=utf-8", cacheRevalidate},
		{"/docs", 301, "", "/docs/", "", ""},
		{"/docs?x=1&y=2", 301, "", "/docs/?x=1&y=2", "", ""},
		{"/docs/index.html", 200, "<h1>docs</h1>", "", "", ""},
		{"/docs/intro", 200, "<h1>intro</h1>", "", "", ""},
		{"/docs/intro/", 301, "", "/docs/intro", "", ""},
		{"/about", 200, "<h1>about</h1>", "", "text/html; charset=utf-8", cacheRevalidate},
		{"/about/", 301, "", "/about", "", ""},
		{"/about/?ref=x", 301, "", "/about?ref=x", "", ""},
		{"/about.html", 200, "<h1>about</h1>", "", "", ""},
		// Both blog.html and blog/index.html: each form serves its own file, no redirect.
		{"/blog", 200, "<h1>blog page</h1>", "", "", ""},
		{"/blog/", 200, "<h1>blog index</h1>", "", "", ""},
		{"/app.js", 200, "console.log('app')", "", "text/javascript; charset=utf-8", cacheRevalidate},
		{"/assets/app.3f2a1c9b.js", 200, "console.log('hashed')", "", "", cacheImmutable},
		{"/assets/index-BkT3x9aQ.js", 200, "console.log('vite')", "", "", cacheImmutable},
		{"/_next/static/chunks/x.js", 200, "next", "", "", cacheImmutable},
		{"/logo.png", 200, "\x89PNG....", "", "image/png", cacheRevalidate},
		{"/style.css", 200, "body{color:red}", "", "text/css; charset=utf-8", ""},
		{"/data/report.json", 200, `{"ok":true}`, "", "application/json; charset=utf-8", ""},
		{"/missing", 404, "<h1>site 404</h1>", "", "text/html; charset=utf-8", ""},
		{"/missing.js", 404, "<h1>site 404</h1>", "", "", ""},
		{"/App.js", 404, "<h1>site 404</h1>", "", "", ""},
		// Never an open redirect: the path collapses to /evil.com, whose canonical form is /evil.com/.
		{"//evil.com", 301, "", "/evil.com/", "", ""},
		{"///evil.com/", 200, "a directory named evil.com", "", "", ""},
		{"//other.example/x", 404, "<h1>site 404</h1>", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			w := get(h, host, tt.target)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tt.status, w.Body.String())
			}
			if tt.body != "" && !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q, want %q", w.Body.String(), tt.body)
			}
			if loc := w.Header().Get("Location"); loc != tt.location {
				t.Errorf("Location %q, want %q", loc, tt.location)
			}
			if strings.HasPrefix(w.Header().Get("Location"), "//") {
				t.Errorf("open redirect: %q", w.Header().Get("Location"))
			}
			if tt.ctype != "" && w.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if tt.cache != "" && w.Header().Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q, want %q", w.Header().Get("Cache-Control"), tt.cache)
			}
			for k, v := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "strict-origin-when-cross-origin",
				"X-Frame-Options":        "SAMEORIGIN",
			} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestConfigFilesAreNotServed(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{
		"index.html": "home", "_redirects": "/a /b 302\n", "_headers": "/*\n  X-Test: 1\n",
	})
	h := newTestHandler(t, store, Options{})
	for _, p := range []string{"/_redirects", "/_headers"} {
		if w := get(h, dep1+".localhost", p); w.Code != 404 || strings.Contains(w.Body.String(), "X-Test") {
			t.Errorf("%s: %d %q", p, w.Code, w.Body.String())
		}
	}
}

func TestConditionalAndHead(t *testing.T) {
	store := newFakeStore()
	m := store.publish(dep1, false, siteFiles)
	h := newTestHandler(t, store, Options{})
	host := dep1 + ".localhost"
	var sha string
	for _, f := range m.Files {
		if f.Path == "style.css" {
			sha = f.SHA256
		}
	}
	etag := `"` + sha[:16] + `"`

	w := get(h, host, "/style.css")
	if got := w.Header().Get("ETag"); got != etag {
		t.Fatalf("ETag %q, want %q", got, etag)
	}
	if w.Header().Get("Content-Length") != "15" || w.Header().Get("Accept-Ranges") != "bytes" {
		t.Errorf("headers %v", w.Header())
	}
	for _, inm := range []string{etag, "W/" + etag, `"nope", ` + etag, "*"} {
		w = get(h, host, "/style.css", "If-None-Match", inm)
		if w.Code != 304 || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d %q", inm, w.Code, w.Body.String())
		}
		if w.Header().Get("ETag") != etag || w.Header().Get("Cache-Control") == "" {
			t.Errorf("304 lacks validators: %v", w.Header())
		}
	}
	if w = get(h, host, "/style.css", "If-None-Match", `"other"`); w.Code != 200 {
		t.Errorf("non-matching If-None-Match: %d", w.Code)
	}
	// The site's 404 page is never a 304, whatever the client sends.
	if w = get(h, host, "/missing", "If-None-Match", "*"); w.Code != 404 {
		t.Errorf("404 page with If-None-Match: %d", w.Code)
	}

	store.resetReads()
	w = do(h, http.MethodHead, host, "/docs/intro")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "14" {
		t.Errorf("HEAD: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if n := store.totalReads(); n != 0 {
		t.Errorf("HEAD read storage %d times", n)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, "PROPFIND"} {
		w = do(h, m, host, "/")
		if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
}

func TestRanges(t *testing.T) {
	store := newFakeStore()
	body := strings.Repeat("0123456789", 100)
	store.publish(dep1, false, map[string]string{"data.txt": body, "page.html": body}, "page.html")
	h := newTestHandler(t, store, Options{})
	host := dep1 + ".localhost"

	tests := []struct {
		rng, ae string
		status  int
		body    string
		crange  string
	}{
		{"bytes=0-3", "", 206, "0123", "bytes 0-3/1000"},
		{"bytes=995-", "", 206, "56789", "bytes 995-999/1000"},
		{"bytes=-2", "", 206, "89", "bytes 998-999/1000"},
		{"bytes=5000-", "", 416, "", "bytes */1000"},
		{"bytes=abc", "", 416, "", ""},
	}
	for _, tt := range tests {
		for _, p := range []string{"/data.txt", "/page.html"} {
			w := get(h, host, p, "Range", tt.rng, "Accept-Encoding", "br, gzip")
			if w.Code != tt.status {
				t.Errorf("%s %s: status %d, want %d", p, tt.rng, w.Code, tt.status)
				continue
			}
			if tt.body != "" && !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("%s %s: body %q", p, tt.rng, w.Body.String())
			}
			if tt.crange != "" && w.Header().Get("Content-Range") != tt.crange {
				t.Errorf("%s %s: Content-Range %q", p, tt.rng, w.Header().Get("Content-Range"))
			}
			if w.Header().Get("Content-Encoding") != "" {
				t.Errorf("%s %s: a range of a compressed variant", p, tt.rng)
			}
		}
	}
	// If-Range with the current ETag honours the range; with another, the whole file.
	etag := get(h, host, "/data.txt").Header().Get("ETag")
	if w := get(h, host, "/data.txt", "Range", "bytes=0-1", "If-Range", etag); w.Code != 206 {
		t.Errorf("If-Range current: %d", w.Code)
	}
	if w := get(h, host, "/data.txt", "Range", "bytes=0-1", "If-Range", `"old"`); w.Code != 200 || w.Body.Len() != 1000 {
		t.Errorf("If-Range stale: %d", w.Code)
	}
}

func TestCompressedVariants(t *testing.T) {
	store := newFakeStore()
	m := store.publish(dep1, false, map[string]string{"page.html": "<p>hello</p>", "plain.txt": "plain"}, "page.html")
	h := newTestHandler(t, store, Options{})
	host := dep1 + ".localhost"
	var sha string
	for _, f := range m.Files {
		if f.Path == "page.html" {
			sha = f.SHA256[:16]
		}
	}
	tests := []struct {
		ae, enc, body, etag string
	}{
		{"", "", "<p>hello</p>", `"` + sha + `"`},
		{"gzip, deflate, br", "br", "BR:<p>hello</p>", `"` + sha + `-br"`},
		{"gzip, deflate, br, zstd", "br", "BR:<p>hello</p>", `"` + sha + `-br"`},
		{"gzip", "gzip", "GZ:<p>hello</p>", `"` + sha + `-gz"`},
		{"br;q=0.5, gzip;q=0.8", "gzip", "GZ:<p>hello</p>", `"` + sha + `-gz"`},
		{"br;q=1.0, gzip;q=1.0", "br", "BR:<p>hello</p>", `"` + sha + `-br"`},
		{"br;q=0, gzip;q=0", "", "<p>hello</p>", `"` + sha + `"`},
		{"identity", "", "<p>hello</p>", `"` + sha + `"`},
		{"*", "br", "BR:<p>hello</p>", `"` + sha + `-br"`},
		{"*;q=0.1, br;q=0", "gzip", "GZ:<p>hello</p>", `"` + sha + `-gz"`},
		{"deflate", "", "<p>hello</p>", `"` + sha + `"`},
		{"BR", "br", "BR:<p>hello</p>", `"` + sha + `-br"`},
	}
	for _, tt := range tests {
		w := get(h, host, "/page", "Accept-Encoding", tt.ae)
		if w.Code != 200 || w.Header().Get("Content-Encoding") != tt.enc || w.Body.String() != tt.body || w.Header().Get("ETag") != tt.etag {
			t.Errorf("Accept-Encoding %q: %d enc %q body %q etag %q", tt.ae, w.Code, w.Header().Get("Content-Encoding"), w.Body.String(), w.Header().Get("ETag"))
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q", tt.ae, w.Header().Get("Vary"))
		}
		if w.Header().Get("Content-Length") != strconv.Itoa(len(tt.body)) {
			t.Errorf("Accept-Encoding %q: Content-Length %q", tt.ae, w.Header().Get("Content-Length"))
		}
		// The variant's own ETag validates only that variant.
		if w := get(h, host, "/page", "Accept-Encoding", tt.ae, "If-None-Match", tt.etag); w.Code != 304 {
			t.Errorf("Accept-Encoding %q: revalidation %d", tt.ae, w.Code)
		}
	}
	if w := get(h, host, "/page", "Accept-Encoding", "gzip", "If-None-Match", `"`+sha+`-br"`); w.Code != 200 {
		t.Errorf("a br ETag validated the gzip variant: %d", w.Code)
	}
	// A file without variants is never compressed and does not vary.
	w := get(h, host, "/plain.txt", "Accept-Encoding", "br, gzip")
	if w.Header().Get("Content-Encoding") != "" || w.Header().Get("Vary") != "" || w.Body.String() != "plain" {
		t.Errorf("plain: %v %q", w.Header(), w.Body.String())
	}
}

func TestSPAFallback(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, true, map[string]string{"index.html": "<div id=root>", "app.js": "js", "404.html": "nf"})
	store.publish(dep2, false, map[string]string{"index.html": "<div id=root>"})
	h := newTestHandler(t, store, Options{})
	const html = "text/html,application/xhtml+xml,*/*;q=0.8"
	tests := []struct {
		host, method, target, accept string
		status                       int
		body                         string
	}{
		{dep1, "GET", "/settings/profile", html, 200, "<div id=root>"},
		{dep1, "HEAD", "/settings/profile", html, 200, ""},
		{dep1, "GET", "/settings/profile?tab=2", "text/html", 200, "<div id=root>"},
		{dep1, "GET", "/app.js", html, 200, "js"},
		{dep1, "GET", "/missing.js", html, 404, "nf"},
		{dep1, "GET", "/chunk.abc123.js", "*/*", 404, "nf"},
		{dep1, "GET", "/api/data", "application/json", 404, "nf"},
		{dep1, "GET", "/settings", "", 200, "<div id=root>"},
		{dep1, "GET", "/settings", "*/*", 200, "<div id=root>"}, // curl, uptime monitors, link checkers
		{dep1, "HEAD", "/settings", "*/*", 200, ""},             // link checkers
		{dep1, "GET", "/settings", "text/*;q=0.5", 200, "<div id=root>"},
		{dep1, "GET", "/settings", "TEXT/HTML", 200, "<div id=root>"},
		{dep1, "GET", "/api/data", "application/json, text/plain", 404, "nf"},
		{dep1, "GET", "/settings", "text/html;q=0, application/json", 404, "nf"},
		{dep1, "GET", "/settings", "image/avif,image/webp", 404, "nf"},
		{dep1, "GET", "/missing.css", "*/*", 404, "nf"},
		{dep2, "GET", "/settings", html, 404, "404 Not Found"},
	}
	for _, tt := range tests {
		w := do(h, tt.method, tt.host+".localhost", tt.target, "Accept", tt.accept)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
			t.Errorf("%s %s %s (Accept %q): %d %q", tt.host, tt.method, tt.target, tt.accept, w.Code, w.Body.String())
		}
		if tt.status == 200 && w.Header().Get("Cache-Control") != cacheRevalidate {
			t.Errorf("SPA fallback Cache-Control %q", w.Header().Get("Cache-Control"))
		}
	}
	// No Accept header at all: a navigation too.
	r := httptest.NewRequest("GET", "/settings/profile", nil)
	r.Host = dep1 + ".localhost"
	delete(r.Header, "Accept")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.String() != "<div id=root>" {
		t.Errorf("no Accept header: %d %q", w.Code, w.Body.String())
	}
}
