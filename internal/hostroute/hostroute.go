// Package hostroute turns the Host header of a request into what the request handler must
// serve: a deployment (immutable), an alias label (a project or a project's branch), or a
// custom domain. It is pure string logic: it must never depend on storage, networks or any
// SkyDeploy role package, so every rule is table-tested without servers.
//
// Only the Host header is read. X-Forwarded-Host is never trusted: anybody can send it, and
// the handler sits directly behind a TCP load balancer or a TLS terminator that keeps Host.
package hostroute

import (
	"strings"
)

// Kind says how a host is served.
type Kind uint8

const (
	// Invalid hosts (garbage, IP literals, the bare base domain, nested labels under the base
	// domain) are answered with the platform's 404 page without touching storage.
	Invalid Kind = iota
	// Deployment is <deployment-id>.<base-domain>: one immutable deployment.
	Deployment
	// Alias is <project>.<base-domain> or <project>--<branch>.<base-domain>: the label is the
	// key of an alias pointer.
	Alias
	// Custom is any other valid host name, looked up in domains/<host>.json.
	Custom
)

func (k Kind) String() string {
	switch k {
	case Deployment:
		return "deployment"
	case Alias:
		return "alias"
	case Custom:
		return "custom"
	}
	return "invalid"
}

// Route is the result of parsing a host.
type Route struct {
	Kind Kind
	// Name is the deployment id (Deployment), the alias label (Alias) or the normalised host
	// name (Custom): lower case, no port, no trailing dot.
	Name string
}

// maxHost is the longest DNS name.
const maxHost = 253

// NormalizeBase lower-cases a base domain and drops a trailing dot, a port and a leading dot.
func NormalizeBase(base string) string {
	base = strings.ToLower(strings.TrimSpace(base))
	if i := strings.LastIndexByte(base, ':'); i >= 0 && !strings.Contains(base, "]") {
		base = base[:i]
	}
	base = strings.TrimSuffix(base, ".")
	return strings.TrimPrefix(base, ".")
}

// Parse classifies host (a Host header value) under base, which must already be normalised
// with NormalizeBase. It does not allocate when host is already lower case.
func Parse(host, base string) Route {
	h, ok := normalize(host)
	if !ok {
		return Route{}
	}
	if h == base {
		return Route{}
	}
	if len(h) > len(base)+1 && h[len(h)-len(base)-1] == '.' && h[len(h)-len(base):] == base {
		label := h[:len(h)-len(base)-1]
		if strings.IndexByte(label, '.') >= 0 || !validLabel(label) {
			return Route{}
		}
		if label[0] >= '0' && label[0] <= '9' {
			if isDeployment(label) {
				return Route{Kind: Deployment, Name: label}
			}
			return Route{}
		}
		return Route{Kind: Alias, Name: label}
	}
	// A custom domain: every label valid, at least two labels, and not an IPv4 literal (a
	// numeric top-level label never names a real domain).
	dot := strings.LastIndexByte(h, '.')
	if dot <= 0 {
		return Route{}
	}
	start := 0
	for i := 0; i <= len(h); i++ {
		if i == len(h) || h[i] == '.' {
			if !validLabel(h[start:i]) {
				return Route{}
			}
			start = i + 1
		}
	}
	tld := h[dot+1:]
	if tld[0] >= '0' && tld[0] <= '9' {
		return Route{}
	}
	return Route{Kind: Custom, Name: h}
}

// normalize strips the port and a trailing dot and lower-cases host; ok is false for empty
// hosts, IPv6 literals and anything that is not made of name characters.
func normalize(host string) (string, bool) {
	if host == "" || len(host) > maxHost+7 || host[0] == '[' {
		return "", false
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		port := host[i+1:]
		if len(port) > 5 {
			return "", false
		}
		for j := 0; j < len(port); j++ {
			if port[j] < '0' || port[j] > '9' {
				return "", false
			}
		}
		host = host[:i]
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if host == "" || len(host) > maxHost {
		return "", false
	}
	upper := false
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c >= 'A' && c <= 'Z':
			upper = true
		default:
			return "", false
		}
	}
	if upper {
		host = strings.ToLower(host)
	}
	return host, true
}

// validLabel: 1-63 letters, digits and hyphens, not starting or ending with a hyphen.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isDeployment is ids.IsDeployment without a regular expression (it runs on every request):
// a digit, then 11 characters of lowercase Crockford base32 (no i, l, o, u). A test keeps
// the two in agreement.
func isDeployment(s string) bool {
	if len(s) != 12 || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
