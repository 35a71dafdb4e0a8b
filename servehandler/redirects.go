package servehandler

import (
	"fmt"
	"strconv"
	"strings"
)

// maxRules bounds the rules read from one _redirects or _headers file.
const maxRules = 10_000

// A redirectRule is one line of a Netlify-style _redirects file:
//
//	/old            /new                 (301 by default)
//	/blog/*         /news/:splat   302
//	/users/:id      /u/:id         308
//	/app/*          /index.html    200   (rewrite: serve that path's content)
//	/private/*      /denied.html   404
//	/docs/*         /v2/:splat     301!  (forced: applies even where a file exists)
//
// Without "!", a rule applies only when no file answers the path ("shadowing"). Rules are
// tried in file order and the first match wins. Not supported, and skipped with a note in
// the log: conditions (Country=, Language=, Role=, query parameters), proxying (200 to an
// absolute URL) and host-level rules (a "from" with a scheme).
type redirectRule struct {
	segs   []string // pattern segments; ":name" matches one segment, a final "*" the rest
	splat  bool
	to     string
	status int
	force  bool
}

// parseRedirects reads a _redirects file. Lines that cannot be used are reported in notes.
func parseRedirects(data []byte) (rules []redirectRule, notes []string) {
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if len(rules) >= maxRules {
			notes = append(notes, fmt.Sprintf("_redirects: more than %d rules, the rest are ignored", maxRules))
			break
		}
		f := strings.Fields(line)
		if i := indexOfComment(f); i >= 0 {
			f = f[:i]
		}
		if len(f) < 2 {
			notes = append(notes, fmt.Sprintf("_redirects line %d: needs a path and a target", n+1))
			continue
		}
		r := redirectRule{to: f[1], status: 301}
		ok := true
		for _, tok := range f[2:] {
			if strings.Contains(tok, "=") {
				notes = append(notes, fmt.Sprintf("_redirects line %d: conditions such as %q are not supported", n+1, tok))
				ok = false
				break
			}
			force := strings.HasSuffix(tok, "!")
			code := strings.TrimSuffix(tok, "!")
			if code == "" && force {
				r.force = true
				continue
			}
			s, err := strconv.Atoi(code)
			if err != nil || !allowedStatus(s) {
				notes = append(notes, fmt.Sprintf("_redirects line %d: %q is not a supported status", n+1, tok))
				ok = false
				break
			}
			r.status, r.force = s, r.force || force
		}
		if !ok {
			continue
		}
		from := f[0]
		if !strings.HasPrefix(from, "/") {
			notes = append(notes, fmt.Sprintf("_redirects line %d: %q must be a path starting with /", n+1, from))
			continue
		}
		absolute := strings.HasPrefix(r.to, "http://") || strings.HasPrefix(r.to, "https://")
		if !absolute && !strings.HasPrefix(r.to, "/") {
			notes = append(notes, fmt.Sprintf("_redirects line %d: target %q must be a path or an http(s) URL", n+1, r.to))
			continue
		}
		if absolute && (r.status == 200 || r.status == 404 || r.status == 410) {
			notes = append(notes, fmt.Sprintf("_redirects line %d: proxying to %s is not supported", n+1, r.to))
			continue
		}
		r.segs, r.splat = splitPattern(from)
		rules = append(rules, r)
	}
	return rules, notes
}

func indexOfComment(f []string) int {
	for i, tok := range f {
		if i >= 2 && strings.HasPrefix(tok, "#") {
			return i
		}
	}
	return -1
}

func allowedStatus(s int) bool {
	switch s {
	case 200, 301, 302, 303, 307, 308, 404, 410:
		return true
	}
	return false
}

// splitPattern turns "/blog/:year/*" into ["blog", ":year"] with splat.
func splitPattern(from string) ([]string, bool) {
	from = strings.Trim(from, "/")
	if from == "" {
		return nil, false
	}
	segs := strings.Split(from, "/")
	if last := segs[len(segs)-1]; last == "*" {
		return segs[:len(segs)-1], true
	}
	return segs, false
}

// match reports whether the rule matches p (a cleaned request path) and returns the target
// with :splat and :placeholders filled in. Trailing slashes do not matter for matching.
func (r *redirectRule) match(p string) (string, bool) {
	rest := strings.Trim(p, "/")
	var params [8]struct{ name, val string }
	np := 0
	for _, seg := range r.segs {
		if rest == "" {
			return "", false
		}
		var cur string
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			cur, rest = rest[:i], rest[i+1:]
		} else {
			cur, rest = rest, ""
		}
		if len(seg) > 1 && seg[0] == ':' {
			if np < len(params) {
				params[np].name, params[np].val = seg[1:], cur
				np++
			}
			continue
		}
		if seg != cur {
			return "", false
		}
	}
	if rest != "" && !r.splat {
		return "", false
	}
	if strings.IndexByte(r.to, ':') < 0 {
		return r.to, true
	}
	return expand(r.to, rest, params[:np]), true
}

// expand replaces :splat and :name in to. A ':' not followed by a known name stays as is
// (so "https://x" survives).
func expand(to, splat string, params []struct{ name, val string }) string {
	var b strings.Builder
	for i := 0; i < len(to); i++ {
		c := to[i]
		if c != ':' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(to) && isNameChar(to[j]) {
			j++
		}
		name := to[i+1 : j]
		val, found := "", false
		if name == "splat" {
			val, found = splat, true
		} else {
			for _, p := range params {
				if p.name == name {
					val, found = p.val, true
					break
				}
			}
		}
		if !found {
			b.WriteByte(c)
			continue
		}
		b.WriteString(val)
		i = j - 1
	}
	return b.String()
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
