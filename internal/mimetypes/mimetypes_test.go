package mimetypes

import "testing"

func TestByName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"index.html", "text/html; charset=utf-8"},
		{"INDEX.HTM", "text/html; charset=utf-8"},
		{"assets/app.3f2a1c.js", "text/javascript; charset=utf-8"},
		{"style.css", "text/css; charset=utf-8"},
		{"data.json", "application/json; charset=utf-8"},
		{"logo.svg", "image/svg+xml; charset=utf-8"},
		{"photo.JPG", "image/jpeg"},
		{"font.woff2", "font/woff2"},
		{"app.wasm", "application/wasm"},
		{"site.webmanifest", "application/manifest+json; charset=utf-8"},
		{"LICENSE", "application/octet-stream"},
		{"archive.unknownext", "application/octet-stream"},
	} {
		if got := ByName(tc.name); got != tc.want {
			t.Errorf("ByName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCompressible(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8": true, "text/javascript; charset=utf-8": true, "image/svg+xml; charset=utf-8": true,
		"application/json; charset=utf-8": true, "application/wasm": true,
		"image/png": false, "font/woff2": false, "video/mp4": false, "application/octet-stream": false,
	} {
		if got := Compressible(ct); got != want {
			t.Errorf("Compressible(%q) = %v, want %v", ct, got, want)
		}
	}
}
