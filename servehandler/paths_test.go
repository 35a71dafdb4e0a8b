package servehandler

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/storage"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		path, raw, want string
		status          int
	}{
		{"/", "", "/", 0},
		{"/docs/", "", "/docs/", 0},
		{"/a/b.js", "", "/a/b.js", 0},
		{"//a//b/", "", "/a/b/", 0},
		{"//evil.com", "", "/evil.com", 0},
		{"/é/ü.html", "", "/é/ü.html", 0},
		{"/a b", "", "/a b", 0},
		{"/..", "", "", 400},
		{"/a/../b", "", "", 400},
		{"/./a", "", "", 400},
		{"/a/.", "", "", 400},
		{"/a\\b", "", "", 400},
		{"/a\x00b", "", "", 400},
		{"/a\nb", "", "", 400},
		{"/a\x7f", "", "", 400},
		{"/\xff\xfe", "", "", 400},
		{"/a/b", "/a%2fb", "", 400},
		{"/a/b", "/a%2Fb", "", 400},
		{"/a\\b", "/a%5cb", "", 400},
		{"a", "", "", 400},
		{"*", "", "", 400},
		{"", "", "", 400},
		{"/" + strings.Repeat("a", MaxPathBytes), "", "", 414},
		{"/...", "", "/...", 0},
		{"/..a", "", "/..a", 0},
	}
	for _, tt := range tests {
		got, status := cleanPath(&url.URL{Path: tt.path, RawPath: tt.raw})
		if got != tt.want || status != tt.status {
			t.Errorf("cleanPath(%q, raw %q) = %q, %d; want %q, %d", tt.path, tt.raw, got, status, tt.want, tt.status)
		}
	}
}

func TestCleanPathDoesNotAllocate(t *testing.T) {
	u := &url.URL{Path: "/assets/app.3f2a1c9b.js"}
	if n := testing.AllocsPerRun(100, func() { cleanPath(u) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestSafeLocation(t *testing.T) {
	for in, want := range map[string]string{
		"/docs/":            "/docs/",
		"//evil.com":        "/evil.com",
		"/\\evil.com":       "/evil.com",
		"///evil.com/x":     "/evil.com/x",
		"evil":              "/evil",
		"https://x.org/a":   "https://x.org/a",
		"/a\\b":             "/a%5Cb",
		"/docs/?next=//x.y": "/docs/?next=//x.y",
	} {
		if got := safeLocation(in); got != want {
			t.Errorf("safeLocation(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHostilePaths sends raw request lines through a real HTTP server, so net/http's own
// parsing is part of the test, and checks that storage only ever saw the deployment's
// manifest and the blobs its manifest names.
func TestHostilePaths(t *testing.T) {
	store := newFakeStore()
	m := store.publish(dep1, false, map[string]string{
		"index.html": "home", "404.html": "site 404", "docs/index.html": "docs", "secret.txt": "s",
	})
	store.put("deployments/"+dep2+"/manifest.json", []byte("{}"))
	h := newTestHandler(t, store, Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()

	allowed := map[string]bool{storage.ManifestKey(dep1): true}
	for _, f := range m.Files {
		allowed[storage.BlobKey(f.SHA256)] = true
	}
	long := "/" + strings.Repeat("a", 1100)
	tests := []struct {
		target string
		status int
	}{
		{"/../etc/passwd", 400},
		{"/docs/../../etc/passwd", 400},
		{"/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/%2E%2E/deployments", 400},
		{"/docs/%2e%2e/secret.txt", 400},
		{"/docs%2findex.html", 400},
		{"/docs%2Findex.html", 400},
		{"/..%2f..%2fetc%2fpasswd", 400},
		{"/docs%5cindex.html", 400},
		{"/docs%5Cindex.html", 400},
		{"/docs\\index.html", 400},
		{"/index.html%00", 400},
		{"/index.html%00.png", 400},
		{"/%0d%0aSet-Cookie:x=1", 400},
		{"/%ff%fe", 400},
		{"/%zz", 400},
		{"/%", 400},
		{"/./index.html", 400},
		{"/.", 400},
		{long, 414},
		{"/?" + strings.Repeat("q", 2000), 200},
		{"//etc/passwd", 404},
		{"/deployments/" + dep2 + "/manifest.json", 404},
		{"/deployments/" + dep1 + "/manifest.json", 404},
		{"/aliases/blog.json", 404},
		{"/blobs/" + m.Files[0].SHA256, 404},
		{"/..;/secret.txt", 404},
		{"/secret.txt", 200},
		{"/docs", 301},
	}
	for _, tt := range tests {
		status, loc := rawGet(t, srv.Listener.Addr().String(), dep1+".localhost", tt.target)
		if status != tt.status {
			t.Errorf("%q: status %d, want %d", tt.target, status, tt.status)
		}
		if strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") {
			t.Errorf("%q: Location %q", tt.target, loc)
		}
	}
	for _, k := range store.keysRead() {
		if !allowed[k] {
			t.Errorf("storage was asked for %q", k)
		}
	}
}

func rawGet(t *testing.T, addr, host, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}
