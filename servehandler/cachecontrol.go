package servehandler

import "strings"

// Cache-Control values. Fingerprinted assets never change under their name; everything else
// (HTML above all) must be revalidated so that a new deployment shows at once, which the
// strong ETag makes cheap (304).
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "public, max-age=0, must-revalidate"
)

// isFingerprinted reports whether a file path names content that a build tool fingerprinted,
// so its name changes whenever its content does. Everything under _next/static/ is (Next.js
// puts build ids and content hashes in those paths). Otherwise the file name (without its
// extension) must contain, after its first part, a hash-like token delimited by '.', '-' or
// '_':
//
//	app.3f2a1c9b.js, main.a1b2c3d4e5.css     hex, 8+ characters, letters and digits
//	index-BkT3x9aQ.js (Vite), chunk-ABCD1234.js (esbuild)
//	                                          8+ alphanumerics with digits and upper case
//
// Mistakes must fall on the safe side: a fingerprint we miss only costs a revalidation,
// while a plain name taken for one would be cached for a year. So lower-case words with a
// digit ("version2", "chapter10") are not hashes unless they are hexadecimal.
func isFingerprinted(p string) bool {
	if strings.HasPrefix(p, "_next/static/") {
		return true
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return false
	}
	stem := name[:dot]
	// Vite names chunks [name]-[hash] with 8 characters of base64url, which may contain
	// '-' and '_' themselves.
	if n := len(stem); n > 9 && stem[n-9] == '-' && viteHash(stem[n-8:]) {
		return true
	}
	first := true
	start := 0
	for i := 0; i <= len(stem); i++ {
		if i < len(stem) && stem[i] != '.' && stem[i] != '-' && stem[i] != '_' {
			continue
		}
		tok := stem[start:i]
		start = i + 1
		if first {
			first = false
			if tok != "" {
				continue
			}
		}
		if hashLike(tok) {
			return true
		}
	}
	return false
}

func hashLike(tok string) bool {
	if len(tok) < 8 || len(tok) > 64 {
		return false
	}
	digits, lower, upper, nonHex := 0, 0, 0, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			lower++
			if c > 'f' {
				nonHex++
			}
		case c >= 'A' && c <= 'Z':
			upper++
		default:
			return false
		}
	}
	if digits == 0 {
		return false
	}
	if upper == 0 && nonHex == 0 {
		return lower > 0 // lower-case hex with letters and digits
	}
	return upper > 0 && (lower > 0 || digits >= 2)
}

// viteHash: 8 characters of [A-Za-z0-9_-] with a digit, an upper- and a lower-case letter.
func viteHash(tok string) bool {
	digit, lower, upper := false, false, false
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	return digit && lower && upper
}
