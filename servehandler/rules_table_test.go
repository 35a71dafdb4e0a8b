package servehandler

import "testing"

func TestIsFingerprinted(t *testing.T) {
	tests := map[string]bool{
		"app.3f2a1c9b.js":                                  true,
		"assets/index-BkT3x9aQ.js":                         true,
		"assets/index-Dx1_sP9a.css":                        true,
		"main.a1b2c3d4e5.css":                              true,
		"static/js/main.8f3a2b1c.chunk.js":                 true,
		"chunk-ABCD1234.js":                                true,
		"_next/static/chunks/pages/index.js":               true,
		"_next/static/abc/_buildManifest.js":               true,
		"assets/logo.5d41402abc4b2a76b9719d911017c592.png": true,
		"app.js":                false,
		"index.html":            false,
		"logo-version2.png":     false,
		"book-chapter10.pdf":    false,
		"2024-01-01-report.pdf": false,
		"style.css":             false,
		"assets/app.js":         false,
		"README":                false,
		"photo-20240101.jpg":    false,
		"deadbeef.js":           false, // the whole name: nothing says it changes with content
		"jquery-3.7.1.min.js":   false,
	}
	for p, want := range tests {
		if got := isFingerprinted(p); got != want {
			t.Errorf("isFingerprinted(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestHTMLIsNeverImmutable(t *testing.T) {
	s := newSite(mustManifest(t, map[string]string{"page.3f2a1c9b.html": "x"}), nil, nil)
	hs := s.routes["/page.3f2a1c9b.html"].hdr
	for _, h := range hs {
		if h.key == "Cache-Control" && h.val[0] != cacheRevalidate {
			t.Errorf("HTML Cache-Control %q", h.val[0])
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept       []string
		hasBr, hasGz bool
		want         int
	}{
		{nil, true, true, encIdentity},
		{[]string{"gzip, deflate, br"}, true, true, encBrotli},
		{[]string{"gzip, deflate, br"}, false, true, encGzip},
		{[]string{"gzip, deflate, br"}, true, false, encBrotli},
		{[]string{"gzip, deflate, br"}, false, false, encIdentity},
		{[]string{"gzip;q=1.0, br;q=0.9"}, true, true, encGzip},
		{[]string{"br;q=0.9, gzip;q=0.9"}, true, true, encBrotli},
		{[]string{"br ; q=0 , gzip"}, true, true, encGzip},
		{[]string{"br;q=0, gzip;q=0"}, true, true, encIdentity},
		{[]string{"*"}, true, true, encBrotli},
		{[]string{"*;q=0"}, true, true, encIdentity},
		{[]string{"identity"}, true, true, encIdentity},
		{[]string{"gzip;q=abc, br;q=2"}, true, true, encIdentity},
		{[]string{"deflate", "gzip"}, true, true, encGzip},
		{[]string{"x-gzip"}, true, true, encGzip},
		{[]string{"GZIP"}, true, true, encGzip},
		{[]string{""}, true, true, encIdentity},
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept, tt.hasBr, tt.hasGz); got != tt.want {
			t.Errorf("negotiate(%q, br=%v, gz=%v) = %d, want %d", tt.accept, tt.hasBr, tt.hasGz, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { negotiate([]string{"gzip, deflate, br;q=0.9, zstd"}, true, true) }); n != 0 {
		t.Errorf("negotiate allocates %v", n)
	}
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		inm  []string
		want bool
	}{
		{[]string{`"abc"`}, true},
		{[]string{`W/"abc"`}, true},
		{[]string{`"x", "abc"`}, true},
		{[]string{`"x"`, `"abc"`}, true},
		{[]string{`*`}, true},
		{[]string{`"abcd"`}, false},
		{[]string{`abc`}, false},
		{[]string{``}, false},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.inm, `"abc"`); got != tt.want {
			t.Errorf("etagMatches(%q) = %v", tt.inm, got)
		}
	}
}

func TestIsFingerprintedVite(t *testing.T) {
	for p, want := range map[string]bool{
		"assets/index-Dx1_sP9a.css": true,
		"assets/vendor-a-B3cD4e.js": true,
		"assets/my-component.js":    false,
		"assets/hello-world1.js":    false,
	} {
		if got := isFingerprinted(p); got != want {
			t.Errorf("isFingerprinted(%q) = %v, want %v", p, got, want)
		}
	}
}
