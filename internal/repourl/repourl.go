// Package repourl validates what users give SkyDeploy to clone: repository URLs and branch
// names. It rejects, with a readable reason, anything that is not a plain http(s) URL of an
// allowed host: other schemes (file://, ssh, git://), credentials in the URL, hosts outside the
// allow-list, internal addresses, and branch names that could be read as options.
//
// It must never depend on anything outside the standard library. Host names that resolve to
// internal addresses are caught again at connection time by the clone transport (see
// netguard), since a name can point anywhere.
package repourl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Policy says which repository URLs are acceptable.
type Policy struct {
	// AllowedHosts are host names (lower case, no port) deployments may clone from; "*" allows any.
	AllowedHosts []string
	// AllowPrivate lets URLs name loopback, private and link-local addresses (and "localhost").
	AllowPrivate bool
	// AllowInsecure allows http:// besides https://.
	AllowInsecure bool
}

// Error is a validation failure a user can read.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func fail(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Validate parses raw and returns the normalised repository URL, or an *Error.
func (p Policy) Validate(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fail("repository URL is required")
	}
	if len(raw) > 2048 {
		return "", fail("repository URL is longer than 2048 characters")
	}
	if strings.ContainsAny(raw, " \t\r\n\x00") {
		return "", fail("repository URL must not contain spaces or control characters")
	}
	if strings.HasPrefix(raw, "-") {
		return "", fail("repository URL must not start with '-'")
	}
	if strings.HasPrefix(raw, "git@") {
		return "", fail("SSH repository URLs (git@...) are not supported: use the https:// URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fail("repository URL is not a valid URL: %v", errors.Unwrap(err))
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "https":
	case "http":
		if !p.AllowInsecure {
			return "", fail("repository URL must use https:// (plain http:// is not allowed here)")
		}
	case "":
		return "", fail("repository URL must be an absolute https:// URL such as https://github.com/owner/repo")
	default:
		return "", fail("repository URL scheme %q is not supported: use https://", scheme)
	}
	if u.User != nil {
		return "", fail("repository URL must not contain credentials; private repositories use the platform's GitHub token")
	}
	if u.Opaque != "" {
		return "", fail("repository URL must be an absolute https:// URL such as https://github.com/owner/repo")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fail("repository URL must not have a query or fragment")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fail("repository URL has no host")
	}
	if err := p.checkHost(host); err != nil {
		return "", err
	}
	if port := u.Port(); port != "" && !p.AllowPrivate {
		if !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
			return "", fail("repository URL must not name a port")
		}
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if path == "" {
		return "", fail("repository URL has no repository path (expected https://%s/owner/repo)", host)
	}
	for _, seg := range strings.Split(path, "/")[1:] {
		if seg == ".." || seg == "." {
			return "", fail("repository URL path must not contain dot segments")
		}
	}
	u.Scheme = scheme
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func (p Policy) checkHost(host string) error {
	if addr, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if IsInternal(addr) {
			if p.AllowPrivate {
				return nil
			}
			return fail("repository host %s is an internal address, which is not allowed", host)
		}
		if !p.hostAllowed(host) {
			return fail("repository host %s is not in the allowed git hosts (%s)", host, strings.Join(p.AllowedHosts, ", "))
		}
		return nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".local") {
		if p.AllowPrivate {
			return nil
		}
		return fail("repository host %s is an internal host name, which is not allowed", host)
	}
	if !validHostname(host) {
		return fail("repository host %q is not a valid host name", host)
	}
	if !p.hostAllowed(host) {
		return fail("repository host %s is not in the allowed git hosts (%s)", host, strings.Join(p.AllowedHosts, ", "))
	}
	return nil
}

func (p Policy) hostAllowed(host string) bool {
	for _, h := range p.AllowedHosts {
		if h == "*" || h == host {
			return true
		}
	}
	return false
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// IsInternal reports whether addr is loopback, private, link-local (cloud metadata lives at
// 169.254.169.254), unspecified, multicast or otherwise not a public unicast address.
func IsInternal(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsUnspecified() || addr.IsMulticast() || addr.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// IsInternalIP is IsInternal for a net.IP.
func IsInternalIP(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	return !ok || IsInternal(addr)
}

// ValidateBranch returns an *Error unless name is a safe git branch name.
func ValidateBranch(name string) error {
	if name == "" {
		return nil
	}
	switch {
	case len(name) > 255:
		return fail("branch name is longer than 255 characters")
	case strings.HasPrefix(name, "-"):
		return fail("branch name %q must not start with '-'", name)
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, "."):
		return fail("branch name %q must not start or end with '/' or end with '.'", name)
	case strings.HasSuffix(name, ".lock"):
		return fail("branch name %q must not end with .lock", name)
	case strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{") || name == "@":
		return fail("branch name %q is not a valid git branch name", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fail("branch name %q contains a character git does not allow (%q)", name, r)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return fail("branch name %q has a component starting with '.'", name)
		}
	}
	return nil
}

// ValidateCommit returns an *Error unless sha is a full or abbreviated hex commit id.
func ValidateCommit(sha string) error {
	if sha == "" {
		return nil
	}
	if len(sha) < 7 || len(sha) > 64 {
		return fail("commit %q must be 7 to 64 hexadecimal characters", sha)
	}
	for _, r := range sha {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return fail("commit %q must be hexadecimal", sha)
		}
	}
	return nil
}

// GitHubRepo returns owner and name when u (a validated URL) is a github.com repository.
func GitHubRepo(u string) (owner, name string, ok bool) {
	parsed, err := url.Parse(u)
	if err != nil || !strings.EqualFold(parsed.Hostname(), "github.com") {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(parsed.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], strings.TrimSuffix(parts[1], ".git"), true
}

// Canonical is the one form in which two URLs of the same repository compare equal: lower-case
// scheme and host, the scheme's default port dropped, no trailing "/" or ".git", no query or
// fragment. It keeps the path's case (some hosts are case-sensitive), except on the hosts in
// caseInsensitiveHosts, whose owner and repository names ignore case. A string that does not
// parse is returned trimmed and lower-cased.
func Canonical(u string) string {
	u = strings.TrimSpace(u)
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git"))
	}
	scheme := strings.ToLower(parsed.Scheme)
	host := strings.ToLower(parsed.Hostname())
	path := strings.TrimSuffix(strings.TrimRight(parsed.EscapedPath(), "/"), ".git")
	if caseInsensitiveHosts[host] {
		path = strings.ToLower(path)
	}
	if port := parsed.Port(); port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + path
}

// caseInsensitiveHosts are the public git hosts on which github.com/Acme/Site and
// github.com/acme/site are one repository (their webhooks send the repository's own spelling).
var caseInsensitiveHosts = map[string]bool{"github.com": true, "gitlab.com": true, "bitbucket.org": true, "codeberg.org": true}

// SameRepository reports whether a and b name the same repository.
func SameRepository(a, b string) bool { return Canonical(a) == Canonical(b) }
