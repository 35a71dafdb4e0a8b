package gitfetch

import "net/netip"

// WithInternalRule returns o with the rule for internal addresses replaced, so that a test
// server on loopback can stand for a public host (tests only).
func WithInternalRule(o Options, internal func(netip.AddrPort) bool) Options {
	o.internal = internal
	return o
}
