// Package mimetypes names the content type of a published file from its extension, the same on
// every machine (the system's mime.types differs between hosts), and says which types are worth
// compressing. It must never depend on anything outside the standard library.
package mimetypes

import (
	"mime"
	"path"
	"strings"
)

var byExt = map[string]string{
	".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
	".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
	".cjs": "text/javascript; charset=utf-8", ".json": "application/json; charset=utf-8", ".map": "application/json; charset=utf-8",
	".webmanifest": "application/manifest+json; charset=utf-8", ".xml": "application/xml; charset=utf-8",
	".rss": "application/rss+xml; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8",
	".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8", ".csv": "text/csv; charset=utf-8",
	".svg": "image/svg+xml; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon", ".bmp": "image/bmp",
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
	".wasm": "application/wasm", ".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/gzip",
	".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav",
	".yaml": "text/yaml; charset=utf-8", ".yml": "text/yaml; charset=utf-8", ".toml": "text/plain; charset=utf-8",
	".ts": "text/plain; charset=utf-8", ".tsx": "text/plain; charset=utf-8", ".wgsl": "text/plain; charset=utf-8",
}

// ByName returns the content type for a file name; text types carry charset=utf-8.
func ByName(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := byExt[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if strings.HasPrefix(t, "text/") && !strings.Contains(t, "charset") {
			t += "; charset=utf-8"
		}
		return t
	}
	return "application/octet-stream"
}

// Compressible reports whether content of type ct shrinks enough with gzip or brotli to be
// worth storing compressed variants.
func Compressible(ct string) bool {
	base, _, _ := strings.Cut(ct, ";")
	base = strings.TrimSpace(base)
	if strings.HasPrefix(base, "text/") {
		return true
	}
	switch base {
	case "application/json", "application/manifest+json", "application/xml", "application/rss+xml", "application/atom+xml",
		"image/svg+xml", "application/wasm", "font/ttf", "font/otf", "image/x-icon", "image/bmp", "application/vnd.ms-fontobject":
		return true
	}
	return false
}
