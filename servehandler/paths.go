package servehandler

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxPathBytes is the longest request path served; longer ones get 414.
const MaxPathBytes = 1024

// cleanPath checks the request path and returns it in the form used as a route key: one
// leading slash, no empty segments (repeated slashes collapse), and the trailing slash kept.
// It never builds a storage key; it only rejects paths that no manifest entry can match and
// that are signs of an attack, with the status to answer:
//
//   - longer than MaxPathBytes (raw or decoded): 414
//   - encoded slashes or backslashes (%2f, %5c) in the raw path, backslashes, NUL and other
//     control characters, invalid UTF-8, "." or ".." segments (also when percent-encoded): 400
//
// Invalid percent-encoding never gets here: net/http answers 400 itself.
func cleanPath(u *url.URL) (string, int) {
	p := u.Path
	if len(p) > MaxPathBytes || len(u.RawPath) > MaxPathBytes {
		return "", http.StatusRequestURITooLong
	}
	if raw := u.RawPath; raw != "" && hasEncodedSeparator(raw) {
		return "", http.StatusBadRequest
	}
	if p == "" || p[0] != '/' {
		return "", http.StatusBadRequest
	}
	collapse, nonASCII := false, false
	segStart := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) {
			c := p[i]
			switch {
			case c == '\\' || c < 0x20 || c == 0x7f:
				return "", http.StatusBadRequest
			case c >= 0x80:
				nonASCII = true
				continue
			case c != '/':
				continue
			}
		}
		// End of a segment p[segStart:i].
		seg := p[segStart:i]
		switch seg {
		case "":
			if i < len(p) {
				collapse = true
			}
		case ".", "..":
			return "", http.StatusBadRequest
		}
		segStart = i + 1
	}
	if nonASCII && !utf8.ValidString(p) {
		return "", http.StatusBadRequest
	}
	if !collapse {
		return p, 0
	}
	var b strings.Builder
	b.Grow(len(p))
	b.WriteByte('/')
	for _, seg := range strings.Split(p[1:], "/") {
		if seg != "" {
			b.WriteString(seg)
			b.WriteByte('/')
		}
	}
	out := b.String()
	if !strings.HasSuffix(p, "/") && len(out) > 1 {
		out = out[:len(out)-1]
	}
	return out, 0
}

// hasEncodedSeparator reports %2f, %5c or %00 (any case) in a raw path.
func hasEncodedSeparator(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		a, b := raw[i+1], raw[i+2]|0x20
		if (a == '2' && b == 'f') || (a == '5' && b == 'c') || (a == '0' && b == '0') {
			return true
		}
	}
	return false
}

// safeLocation makes a redirect target built from a relative path unable to leave the site:
// a leading "//" or "/\" would be read by browsers as another host.
func safeLocation(loc string) string {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		return loc
	}
	loc = "/" + strings.TrimLeft(loc, "/\\")
	return strings.ReplaceAll(loc, "\\", "%5C")
}

// validManifestPath accepts only paths a request can name after cleanPath: relative, no
// empty, "." or ".." segments, no backslashes or control characters, valid UTF-8.
func validManifestPath(p string) bool {
	if p == "" || len(p) > MaxPathBytes || !utf8.ValidString(p) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '\\' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// lastSegmentHasExt reports whether the last path segment has a file extension.
func lastSegmentHasExt(p string) bool {
	last := p[strings.LastIndexByte(p, '/')+1:]
	return strings.IndexByte(last, '.') >= 0
}
