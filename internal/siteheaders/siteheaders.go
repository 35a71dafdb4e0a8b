// Package siteheaders holds the rules for the response headers a deployed site may set through
// its Netlify-style _headers file, shared by publishing (which refuses a deployment whose
// _headers breaks them, with a message in its log) and the request handler (which never sends
// such a header, whatever an older deployment holds).
//
// It must never depend on anything outside the standard library.
package siteheaders

import (
	"fmt"
	"net/textproto"
	"strings"
)

// forbidden are headers a site may never set, with the reason shown to its owner. Sites share
// the platform's base domain: a cookie set with Domain=<base domain> would reach every other
// site under it.
var forbidden = map[string]string{
	"Set-Cookie":  "a site may not set cookies through _headers: a cookie for the platform's base domain would reach every other site on it",
	"Set-Cookie2": "a site may not set cookies through _headers: a cookie for the platform's base domain would reach every other site on it",
}

// Forbidden returns why a site may not set the header name, or "".
func Forbidden(name string) string {
	return forbidden[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))]
}

// Violation is one forbidden header line of a _headers file.
type Violation struct {
	Line   int // 1-based
	Header string
	Reason string
}

func (v Violation) Error() string {
	return fmt.Sprintf("_headers line %d sets %s: %s", v.Line, v.Header, v.Reason)
}

// Check returns the lines of a _headers file that set a forbidden header. Lines are read the
// way the request handler reads them: "Name: value" lines below a path line.
func Check(data []byte) []Violation {
	var out []Violation
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "/") && raw[0] != ' ' && raw[0] != '\t' {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if why := Forbidden(name); why != "" {
			out = append(out, Violation{Line: n + 1, Header: textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), Reason: why})
		}
	}
	return out
}
