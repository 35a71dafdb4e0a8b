// Package domainname holds the rules of custom domains: which names a project may add (Check),
// what a user must put in DNS to prove ownership and to route the name here (Records), and the
// verification token. It is pure logic, table-tested without servers.
//
// It must never depend on storage, Temporal, Redis or any SkyDeploy package. Besides the
// standard library it uses golang.org/x/net's Public Suffix List (data: which names are
// registrable, which are apex domains) and its IDNA tables (internationalised names become
// their punycode form), because getting those two wrong by hand is how hosts get hijacked.
package domainname

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// ChallengePrefix is the label under which the verification TXT record lives.
const ChallengePrefix = "_skydeploy-challenge"

// MaxLength is the longest DNS name (without the trailing dot).
const MaxLength = 253

// Error says why a name cannot be a custom domain; the message is for the user.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Rules are the platform's own names, which no project may add.
type Rules struct {
	// BaseDomain is the domain whose subdomains are deployments and projects (SKYDEPLOY_BASE_DOMAIN).
	BaseDomain string
	// Reserved are other names of the platform (the API's host); they and their subdomains
	// are refused.
	Reserved []string
}

// notPublic are top-level names that never resolve on the internet, so no CA can validate
// them. ".test" and ".example" stay allowed: the end-to-end tests use them with their own DNS.
var notPublic = []string{"localhost", "local", "invalid", "internal", "home.arpa", "onion", "arpa"}

// Check returns the canonical form of a domain a user typed (lower case, no trailing dot,
// punycode for international names) or an *Error saying why it cannot be added.
func (r Rules) Check(input string) (string, error) {
	d := strings.TrimSpace(input)
	switch {
	case d == "":
		return "", refuse("a domain name is required, such as www.example.com")
	case strings.Contains(d, "://") || strings.ContainsAny(d, "/?#@"):
		return "", refuse("%q is not a host name: give the name only, such as www.example.com", input)
	case strings.Contains(d, "*"):
		return "", refuse("wildcard domains (%s) are not supported: add each name on its own, such as www.example.com", d)
	}
	if ip := net.ParseIP(strings.Trim(d, "[]")); ip != nil {
		return "", refuse("%s is an IP address: a custom domain must be a name", d)
	}
	if strings.Contains(d, ":") {
		return "", refuse("%q has a port: give the name only (sites are served on the standard ports)", d)
	}
	if strings.HasSuffix(d, ".") {
		d = d[:len(d)-1]
	}
	if d == "" || strings.HasPrefix(d, ".") || strings.Contains(d, "..") || strings.HasSuffix(d, ".") {
		return "", refuse("%q has an empty label", input)
	}
	ascii, err := toASCII(d)
	if err != nil {
		return "", err
	}
	d = ascii
	if len(d) > MaxLength {
		return "", refuse("%s… is %d characters long; a domain name has at most %d", d[:40], len(d), MaxLength)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", refuse("%s is a single label: a custom domain has at least two (example.com)", d)
	}
	for _, l := range labels {
		if err := checkLabel(d, l); err != nil {
			return "", err
		}
	}
	tld := labels[len(labels)-1]
	if tld[0] >= '0' && tld[0] <= '9' {
		return "", refuse("%s ends in a numeric label: it is an address, not a domain name", d)
	}
	if net.ParseIP(d) != nil {
		return "", refuse("%s is an IP address: a custom domain must be a name", d)
	}
	for _, np := range notPublic {
		if d == np || strings.HasSuffix(d, "."+np) {
			return "", refuse("%s is not a public name (.%s never resolves on the internet), so no certificate can be obtained for it", d, np)
		}
	}
	if base := normalize(r.BaseDomain); base != "" {
		if d == base {
			return "", refuse("%s is the platform's own base domain", d)
		}
		if strings.HasSuffix(d, "."+base) {
			return "", refuse("%s is under the platform's base domain %s, whose names belong to deployments and projects", d, base)
		}
	}
	for _, res := range r.Reserved {
		if res = normalize(res); res != "" && (d == res || strings.HasSuffix(d, "."+res)) {
			return "", refuse("%s is one of the platform's own names", d)
		}
	}
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return "", refuse("%s is a public suffix (like com or co.uk): add a name registered under it", d)
	}
	return d, nil
}

// toASCII turns an internationalised name into its punycode form and checks that punycode
// labels decode.
func toASCII(d string) (string, error) {
	ascii := true
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii && !strings.Contains(strings.ToLower(d), "xn--") {
		return strings.ToLower(d), nil
	}
	out, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", refuse("%q is not a valid internationalised domain name: %v", d, err)
	}
	if _, err := idna.Lookup.ToUnicode(out); err != nil {
		return "", refuse("%q has a punycode label that does not decode: %v", d, err)
	}
	return strings.ToLower(out), nil
}

// checkLabel: 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen.
func checkLabel(d, l string) error {
	if l == "" {
		return refuse("%s has an empty label", d)
	}
	if len(l) > 63 {
		return refuse("%s has a label of %d characters; a label has at most 63", d, len(l))
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return refuse("%s has a label that starts or ends with a hyphen (%s)", d, l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			if c == '_' {
				return refuse("%s has an underscore: host names may hold only letters, digits and hyphens", d)
			}
			return refuse("%s has the character %q, which a host name cannot hold", d, c)
		}
	}
	return nil
}

func normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.Trim(s, ".")
}

// IsApex reports whether d (canonical) is a registrable domain itself (example.com,
// example.co.uk), where DNS allows no CNAME: it is routed with A/AAAA records.
func IsApex(d string) bool {
	e, err := publicsuffix.EffectiveTLDPlusOne(d)
	return err == nil && e == d
}

// ChallengeName is the name of the TXT record that proves ownership of d.
func ChallengeName(d string) string { return ChallengePrefix + "." + d }

// NewToken returns a fresh verification token: 32 hex characters.
func NewToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// Record purposes.
const (
	PurposeVerify = "verify"
	PurposeRoute  = "route"
)

// Record is one DNS record a user must create.
type Record struct {
	Type    string // TXT, CNAME, A, AAAA
	Name    string // fully qualified, without the trailing dot
	Value   string
	Purpose string // PurposeVerify or PurposeRoute
}

// Target is where the operator receives custom-domain traffic (SKYDEPLOY_DOMAIN_CNAME_TARGET,
// SKYDEPLOY_DOMAIN_ADDRESSES).
type Target struct {
	CNAME     string
	Addresses []string
}

// Records lists what d needs in DNS: the TXT record holding token, then how to route it —
// A/AAAA records for an apex domain (DNS allows no CNAME there) or when no CNAME target is
// configured, else a CNAME to the target.
func Records(d, token string, t Target) []Record {
	out := []Record{{Type: "TXT", Name: ChallengeName(d), Value: token, Purpose: PurposeVerify}}
	if t.CNAME != "" && !IsApex(d) {
		return append(out, Record{Type: "CNAME", Name: d, Value: normalize(t.CNAME), Purpose: PurposeRoute})
	}
	for _, a := range t.Addresses {
		ip := net.ParseIP(strings.TrimSpace(a))
		if ip == nil {
			continue
		}
		typ := "AAAA"
		if ip.To4() != nil {
			typ = "A"
		}
		out = append(out, Record{Type: typ, Name: d, Value: ip.String(), Purpose: PurposeRoute})
	}
	return out
}
