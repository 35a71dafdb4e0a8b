package servehandler

import (
	"fmt"
	"github.com/skydeploy/skydeploy/internal/siteheaders"
	"net/textproto"
	"regexp"
	"strings"
)

// header is one response header, its value slice shared by every response (net/http never
// modifies it), so precomputed headers are set without allocating.
type header struct {
	key string
	val []string
}

// Baseline security headers, sent unless the site's _headers sets the same name.
var baselineHeaders = []header{
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Referrer-Policy", []string{"strict-origin-when-cross-origin"}},
	{"X-Frame-Options", []string{"SAMEORIGIN"}},
}

// A headerRule is one block of a Netlify-style _headers file:
//
//	/assets/*
//	  Cache-Control: public, max-age=3600
//	  X-Robots-Tag: noindex
//
// "*" matches any run of characters (slashes included), ":name" one path segment. Every
// matching block applies, in file order; the same name from several blocks is joined with
// ", ". A site header replaces the platform's header of the same name (the security
// baseline, Cache-Control, even Content-Type), except for the names in reservedHeaders.
type headerRule struct {
	pattern string
	re      *regexp.Regexp
	headers []header
}

// reservedHeaders are managed by the handler and never taken from _headers.
var reservedHeaders = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Content-Range": true, "Transfer-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Upgrade": true, "Trailer": true, "Te": true,
	"Etag": true, "Accept-Ranges": true, "Date": true, "Location": true, "Vary": true,
}

func parseHeaders(data []byte) (rules []headerRule, notes []string) {
	var cur *headerRule
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		indented := raw[0] == ' ' || raw[0] == '\t'
		if !indented && strings.HasPrefix(line, "/") {
			if len(rules) >= maxRules {
				notes = append(notes, fmt.Sprintf("_headers: more than %d blocks, the rest are ignored", maxRules))
				break
			}
			re, err := compileGlob(line)
			if err != nil {
				notes = append(notes, fmt.Sprintf("_headers line %d: bad path pattern: %v", n+1, err))
				cur = &headerRule{} // swallow its header lines
				continue
			}
			rules = append(rules, headerRule{pattern: line, re: re})
			cur = &rules[len(rules)-1]
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || cur == nil {
			notes = append(notes, fmt.Sprintf("_headers line %d: expected a path or \"Name: value\"", n+1))
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !validHeaderName(name) || !validHeaderValue(value) {
			notes = append(notes, fmt.Sprintf("_headers line %d: invalid header %q", n+1, name))
			continue
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
		if why := siteheaders.Forbidden(name); why != "" {
			// Refused at publish since; an older deployment may still hold one.
			notes = append(notes, fmt.Sprintf("_headers line %d: %s is not sent: %s", n+1, name, why))
			continue
		}
		if reservedHeaders[name] {
			notes = append(notes, fmt.Sprintf("_headers line %d: %s is set by the platform", n+1, name))
			continue
		}
		cur.headers = append(cur.headers, header{key: name, val: []string{value}})
	}
	return rules, notes
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// compileGlob turns a _headers pattern into an anchored regular expression: "*" matches any
// run of characters, ":name" one path segment. RE2 matching is linear in the path length,
// so no pattern can make a request slow.
func compileGlob(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	lit := 0 // start of the pending literal run
	flush := func(i int) { b.WriteString(regexp.QuoteMeta(pattern[lit:i])) }
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*':
			flush(i)
			b.WriteString(".*")
			lit = i + 1
		case c == ':' && i+1 < len(pattern) && isNameChar(pattern[i+1]):
			flush(i)
			for i+1 < len(pattern) && isNameChar(pattern[i+1]) {
				i++
			}
			b.WriteString("[^/]+")
			lit = i + 1
		}
	}
	flush(len(pattern))
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// siteHeaders returns the headers of every rule matching p, merged.
func siteHeaders(rules []headerRule, p string) []header {
	var out []header
	for i := range rules {
		if !rules[i].re.MatchString(p) {
			continue
		}
	next:
		for _, h := range rules[i].headers {
			for j := range out {
				if out[j].key == h.key {
					out[j].val = []string{out[j].val[0] + ", " + h.val[0]}
					continue next
				}
			}
			out = append(out, h)
		}
	}
	return out
}

// mergeHeaders returns base with each of over replacing the header of the same name or added.
func mergeHeaders(base, over []header) []header {
	out := base
next:
	for _, h := range over {
		for i := range out {
			if out[i].key == h.key {
				out[i] = h
				continue next
			}
		}
		out = append(out, h)
	}
	return out
}
