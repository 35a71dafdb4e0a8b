// Package egress is the build sandbox's only way out to the network: an HTTP proxy (CONNECT
// tunnels for HTTPS, absolute-URI requests for plain HTTP) run by the build worker outside the
// sandbox. It resolves names itself and connects only to addresses its Policy allows, so a
// build cannot reach the platform's own services, the worker's loopback, private networks or
// cloud metadata endpoints, even through a public name that resolves to one of them (the
// address checked is the address dialled).
//
// Every refused connection is reported once through Proxy.OnRefused; allowed ones are counted
// per host (Stats); the bytes carried in both directions are bounded (Policy.MaxBytes).
//
// It must never depend on Temporal, Redis, object storage or any other SkyDeploy package but
// internal/bytesize (standard library only, for sizes in messages): it is pure networking,
// testable with loopback servers and a replaceable resolver.
package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultPorts are the ports public hosts may be reached on when an allow-list entry names
// none.
var DefaultPorts = []int{80, 443}

// Policy says where the proxy may connect.
type Policy struct {
	// Allow, when not empty, is the allow-list; empty means any public address. Entries:
	//   - "registry.npmjs.org": that host on DefaultPorts;
	//   - "*.yarnpkg.com": any subdomain (not the apex) on DefaultPorts;
	//   - "host:port": that host on that port only;
	//   - "203.0.113.7" or "203.0.113.7:8443": that address (on DefaultPorts or the port);
	//   - "127.0.0.1:4873": an explicit non-public address and port (a registry mirror on the
	//     worker's network). Only this form reaches a non-public address, and never one in Deny.
	Allow []Rule
	// Deny lists addresses that are always refused: the platform's own services. An entry with
	// port 0 refuses every port of its address.
	Deny []netip.AddrPort
	// MaxBytes bounds the bytes carried in both directions through all connections of the
	// proxy's lifetime (one build step); 0 means no bound.
	MaxBytes int64
}

// Rule is one parsed allow-list entry.
type Rule struct {
	Host     string     // lower-case name without a leading "*."; empty for address rules
	Wildcard bool       // Host matches subdomains only
	Addr     netip.Addr // address rules
	Port     int        // 0: DefaultPorts
}

func (r Rule) String() string {
	h := r.Host
	if r.Wildcard {
		h = "*." + h
	}
	if r.Addr.IsValid() {
		h = r.Addr.String()
		if r.Port != 0 && r.Addr.Is6() {
			h = "[" + h + "]"
		}
	}
	if r.Port != 0 {
		h += ":" + strconv.Itoa(r.Port)
	}
	return h
}

// ParseRules parses a comma-separated allow-list.
func ParseRules(list string) ([]Rule, error) {
	var rules []Rule
	for _, raw := range strings.Split(list, ",") {
		e := strings.ToLower(strings.TrimSpace(raw))
		if e == "" {
			continue
		}
		r, err := parseRule(e)
		if err != nil {
			return nil, fmt.Errorf("egress allow-list entry %q: %w", raw, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(e string) (Rule, error) {
	var r Rule
	host := e
	if h, p, err := net.SplitHostPort(e); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return r, fmt.Errorf("bad port %q", p)
		}
		host, r.Port = h, port
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		r.Addr = a.Unmap()
		if !isPublic(r.Addr) && r.Port == 0 {
			return r, fmt.Errorf("a non-public address must name its port")
		}
		return r, nil
	}
	if strings.HasPrefix(host, "*.") {
		r.Wildcard = true
		host = host[2:]
	}
	if !validHostname(host) {
		return r, fmt.Errorf("not a host name")
	}
	r.Host = strings.TrimSuffix(host, ".")
	return r, nil
}

func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Refusal is why a connection was refused.
type Refusal struct {
	Host   string // as the build asked for it
	Addr   string // the address it resolved to, when known
	Reason string
}

func (r *Refusal) Error() string { return "egress refused: " + r.Describe() }

// Describe is "host (address): reason", the way a build log shows a refusal.
func (r *Refusal) Describe() string {
	if r.Addr != "" && r.Addr != r.Host {
		return fmt.Sprintf("%s (%s): %s", r.Host, r.Addr, r.Reason)
	}
	return r.Host + ": " + r.Reason
}

// Resolver looks up a name's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// matchingRules returns the allow-list rules that may admit host:port. With an empty
// allow-list it returns one rule meaning "any public address on DefaultPorts".
func (p *Policy) matchingRules(host string, port int) []Rule {
	if len(p.Allow) == 0 {
		return []Rule{{}}
	}
	var out []Rule
	addr, addrErr := netip.ParseAddr(strings.Trim(host, "[]"))
	isAddr := addrErr == nil
	for _, r := range p.Allow {
		if r.Port != 0 && r.Port != port {
			continue
		}
		switch {
		case r.Addr.IsValid():
			if isAddr && addr.Unmap() == r.Addr {
				out = append(out, r)
			}
		case r.Wildcard:
			if strings.HasSuffix(host, "."+r.Host) {
				out = append(out, r)
			}
		default:
			if host == r.Host {
				out = append(out, r)
			}
		}
	}
	return out
}

// check decides whether addr (resolved from the request's host) may be dialled on port under
// one of rules; it returns "" when allowed, else the reason.
func (p *Policy) check(addr netip.Addr, port int, rules []Rule) string {
	addr = addr.Unmap()
	for _, d := range p.Deny {
		if d.Addr().Unmap() == addr && (d.Port() == 0 || int(d.Port()) == port) {
			return "address of a platform service"
		}
	}
	// An explicit address rule with its port admits exactly that address, public or not.
	for _, r := range rules {
		if r.Addr.IsValid() && r.Addr == addr && r.Port == port {
			return ""
		}
	}
	if why := nonPublicReason(addr); why != "" {
		return why
	}
	portOK := false
	for _, r := range rules {
		if r.Port == port || (r.Port == 0 && slices.Contains(DefaultPorts, port)) {
			portOK = true
		}
	}
	if !portOK {
		return fmt.Sprintf("port %d is not allowed (only %s)", port, portList(DefaultPorts))
	}
	return ""
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, " and ")
}

// Non-public address ranges beyond what netip classifies itself.
var (
	sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	thisNetwork        = netip.MustParsePrefix("0.0.0.0/8")
	ietfProtocol       = netip.MustParsePrefix("192.0.0.0/24")
	reservedV4         = netip.MustParsePrefix("240.0.0.0/4") // includes broadcast
	nat64              = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour          = netip.MustParsePrefix("2002::/16")
	teredo             = netip.MustParsePrefix("2001::/32")
)

// isPublic reports whether addr is an ordinary internet address.
func isPublic(addr netip.Addr) bool { return nonPublicReason(addr) == "" }

// nonPublicReason says why addr is not a public internet address, or "".
func nonPublicReason(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "invalid address"
	case addr.IsLoopback():
		return "loopback address"
	case addr.IsUnspecified() || thisNetwork.Contains(addr):
		return "unspecified address"
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "link-local address (cloud metadata lives here)"
	case addr.IsMulticast() || addr.IsInterfaceLocalMulticast():
		return "multicast address"
	case addr.IsPrivate() || sharedAddressSpace.Contains(addr) || ietfProtocol.Contains(addr):
		return "private address"
	case reservedV4.Contains(addr):
		return "reserved address"
	case nat64.Contains(addr) || sixToFour.Contains(addr) || teredo.Contains(addr):
		// These embed an IPv4 address that could be internal.
		return "IPv6 transition address"
	}
	return ""
}

// Setting is SKYDEPLOY_BUILD_EGRESS parsed: whether the build step gets egress, and the
// allow-list of both steps (empty: any public address).
type Setting struct {
	// BuildStep gives the build step the proxy too; the install step always has it.
	BuildStep bool
	Allow     []Rule
}

// ParseSetting reads "public" (the default: any public address on ports 80 and 443, install
// and build), "off" (install as public, the build step without any network) or a
// comma-separated allow-list for both steps.
func ParseSetting(s string) (Setting, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "public":
		return Setting{BuildStep: true}, nil
	case "off":
		return Setting{}, nil
	}
	rules, err := ParseRules(s)
	if err != nil {
		return Setting{}, err
	}
	if len(rules) == 0 {
		return Setting{}, fmt.Errorf("egress: empty allow-list")
	}
	return Setting{BuildStep: true, Allow: rules}, nil
}

// PlatformAddresses turns the listen and endpoint addresses of the platform's own services
// ("127.0.0.1:6379", ":3001", "redis.internal:6379", "http://s3:7070") into addresses the
// proxy must refuse: names are resolved now, and a wildcard listener stands for every address
// of this machine's interfaces. Entries that do not parse are skipped.
func PlatformAddresses(ctx context.Context, r Resolver, endpoints []string) []netip.AddrPort {
	if r == nil {
		r = net.DefaultResolver
	}
	var out []netip.AddrPort
	seen := map[netip.AddrPort]bool{}
	add := func(a netip.Addr, port uint16) {
		ap := netip.AddrPortFrom(a.Unmap(), port)
		if !seen[ap] {
			seen[ap] = true
			out = append(out, ap)
		}
	}
	for _, e := range endpoints {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if i := strings.Index(e, "://"); i >= 0 {
			e = e[i+3:]
			if j := strings.IndexAny(e, "/?#"); j >= 0 {
				e = e[:j]
			}
			if k := strings.LastIndex(e, "@"); k >= 0 {
				e = e[k+1:]
			}
		}
		host, portStr, err := net.SplitHostPort(e)
		if err != nil {
			continue
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			continue
		}
		var addrs []netip.Addr
		switch a, err := netip.ParseAddr(strings.Trim(host, "[]")); {
		case host == "" || (err == nil && a.IsUnspecified()):
			addrs = localAddrs()
		case err == nil:
			addrs = []netip.Addr{a}
		default:
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			addrs, _ = r.LookupNetIP(lctx, "ip", host)
			cancel()
		}
		for _, a := range addrs {
			add(a, uint16(port))
		}
	}
	return out
}

// localAddrs lists the addresses of this machine's interfaces.
func localAddrs() []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, ia := range ifaddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
}
