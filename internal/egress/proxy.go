package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skydeploy/skydeploy/internal/bytesize"
)

// dialTimeout bounds one connection attempt to an upstream address.
const dialTimeout = 15 * time.Second

// ErrByteLimit is the reason given once the proxy has carried Policy.MaxBytes.
var ErrByteLimit = errors.New("egress byte limit reached")

// Proxy is one build step's egress proxy. Create it with New, hand it a listener with Serve,
// and Close it when the step ends.
type Proxy struct {
	policy   Policy
	resolver Resolver
	dialer   net.Dialer
	// onRefused is called once per refused connection, never concurrently.
	onRefused func(*Refusal)

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	hosts    map[string]*HostStats
	refused  int
	upstream int // connections to allowed hosts that failed (unreachable, DNS down)
	closed   bool
	bytes    atomic.Int64
	exceeded atomic.Bool
	cbMu     sync.Mutex
	server   *http.Server
}

// HostStats counts what went to one host.
type HostStats struct {
	Host        string
	Connections int
	Bytes       int64
}

// Stats is what a proxy carried and refused.
type Stats struct {
	Hosts   []HostStats // allowed hosts, most connections first
	Refused int
	// UpstreamFailures counts allowed connections that failed on the network's side (an
	// unreachable host, a name server that does not answer): the platform's trouble, not the
	// build's.
	UpstreamFailures int
	Bytes            int64
	Exceeded         bool // MaxBytes was reached
}

// Options configure a Proxy.
type Options struct {
	Policy Policy
	// Resolver looks names up (default net.DefaultResolver); tests replace it.
	Resolver Resolver
	// OnRefused is told of every refused connection (for the build log).
	OnRefused func(*Refusal)
}

// New returns a proxy enforcing o.Policy.
func New(o Options) *Proxy {
	p := &Proxy{
		policy: o.Policy, resolver: o.Resolver, onRefused: o.OnRefused,
		conns: map[net.Conn]struct{}{}, hosts: map[string]*HostStats{},
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	p.dialer = net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	p.server = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				p.track(c, true)
			case http.StateClosed, http.StateHijacked:
				p.track(c, false)
			}
		},
	}
	return p
}

// Serve answers proxy requests on l until Close. It returns nil after Close.
func (p *Proxy) Serve(l net.Listener) error {
	err := p.server.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the proxy and every connection it carries.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.server.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	return err
}

// Stats returns what the proxy carried so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Refused: p.refused, UpstreamFailures: p.upstream, Bytes: p.bytes.Load(), Exceeded: p.exceeded.Load()}
	for _, h := range p.hosts {
		s.Hosts = append(s.Hosts, *h)
	}
	sort.Slice(s.Hosts, func(i, j int) bool {
		if s.Hosts[i].Connections != s.Hosts[j].Connections {
			return s.Hosts[i].Connections > s.Hosts[j].Connections
		}
		return s.Hosts[i].Host < s.Hosts[j].Host
	})
	return s
}

// Exceeded reports whether the proxy stopped at Policy.MaxBytes, and the limit.
func (p *Proxy) Exceeded() (bool, int64) { return p.exceeded.Load(), p.policy.MaxBytes }

// Summary is one line describing Stats for a build log.
func (s Stats) Summary() string {
	if len(s.Hosts) == 0 && s.Refused == 0 {
		return "Egress: no connections"
	}
	var parts []string
	for _, h := range s.Hosts {
		parts = append(parts, fmt.Sprintf("%s ×%d", h.Host, h.Connections))
	}
	msg := "Egress: " + bytesize.Format(s.Bytes)
	if len(parts) > 0 {
		msg += " through " + strings.Join(parts, ", ")
	}
	if s.Refused > 0 {
		msg += fmt.Sprintf("; %d refused", s.Refused)
	}
	if s.UpstreamFailures > 0 {
		msg += fmt.Sprintf("; %d failed on the network's side", s.UpstreamFailures)
	}
	return msg
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			_ = c.Close()
			return
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) refuse(r *Refusal) {
	p.mu.Lock()
	p.refused++
	p.mu.Unlock()
	if p.onRefused != nil {
		p.cbMu.Lock()
		p.onRefused(r)
		p.cbMu.Unlock()
	}
}

func (p *Proxy) count(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hosts[host]
	if h == nil {
		h = &HostStats{Host: host}
		p.hosts[host] = h
	}
	h.Connections++
}

// addBytes counts n carried bytes for host and reports whether the budget still holds.
func (p *Proxy) addBytes(host string, n int) bool {
	total := p.bytes.Add(int64(n))
	p.mu.Lock()
	if h := p.hosts[host]; h != nil {
		h.Bytes += int64(n)
	}
	p.mu.Unlock()
	if p.policy.MaxBytes > 0 && total > p.policy.MaxBytes {
		if p.exceeded.CompareAndSwap(false, true) {
			p.refuse(&Refusal{Host: host, Reason: fmt.Sprintf("%v (%s)", ErrByteLimit, bytesize.Format(p.policy.MaxBytes))})
			go p.Close()
		}
		return false
	}
	return true
}

// Dial connects to host:port if the policy allows it, resolving the name itself and dialling
// the address it checked. The error is a *Refusal when the policy said no.
func (p *Proxy) Dial(ctx context.Context, hostport string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		r := &Refusal{Host: hostport, Reason: "not a host:port"}
		p.refuse(r)
		return nil, r
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		r := &Refusal{Host: hostport, Reason: "bad port"}
		p.refuse(r)
		return nil, r
	}
	if p.exceeded.Load() {
		r := &Refusal{Host: host, Reason: ErrByteLimit.Error()}
		p.refuse(r)
		return nil, r
	}
	target := net.JoinHostPort(host, portStr)
	literal, err := netip.ParseAddr(strings.Trim(host, "[]"))
	isLiteral := err == nil
	if isLiteral {
		// An address says what it is without a lookup: name its class first.
		if why := p.policy.check(literal, port, p.policy.matchingRules(host, port)); why != "" {
			r := &Refusal{Host: target, Reason: why}
			p.refuse(r)
			return nil, r
		}
	}
	// Names outside the allow-list are refused without a lookup, so that a build cannot leak
	// data through DNS queries the worker makes for it.
	rules := p.policy.matchingRules(host, port)
	if len(rules) == 0 {
		r := &Refusal{Host: target, Reason: "not in the allow-list (SKYDEPLOY_BUILD_EGRESS)"}
		p.refuse(r)
		return nil, r
	}
	var addrs []netip.Addr
	if isLiteral {
		addrs = []netip.Addr{literal}
	} else {
		if !validHostname(host) {
			r := &Refusal{Host: host, Reason: "not a host name"}
			p.refuse(r)
			return nil, r
		}
		lctx, cancel := context.WithTimeout(ctx, dialTimeout)
		addrs, err = p.resolver.LookupNetIP(lctx, "ip", host)
		cancel()
		if err != nil || len(addrs) == 0 {
			r := &Refusal{Host: target, Reason: "name does not resolve"}
			var dnsErr *net.DNSError
			if err != nil {
				r.Reason += ": " + shortDNSError(err)
				if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
					p.countUpstreamFailure() // the name server failed, not the name
				}
			}
			p.refuse(r)
			return nil, r
		}
	}
	// Every address must pass: a name that mixes public and internal addresses is refused,
	// so that which one is tried cannot decide where the build ends up.
	for _, a := range addrs {
		if why := p.policy.check(a, port, rules); why != "" {
			r := &Refusal{Host: target, Addr: net.JoinHostPort(a.Unmap().String(), portStr), Reason: why}
			p.refuse(r)
			return nil, r
		}
	}
	var lastErr error
	for _, a := range addrs {
		c, err := p.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			p.count(host)
			return &countingConn{Conn: c, p: p, host: host}, nil
		}
		lastErr = err
	}
	p.countUpstreamFailure()
	return nil, fmt.Errorf("connect to %s: %w", net.JoinHostPort(host, portStr), lastErr)
}

func (p *Proxy) countUpstreamFailure() {
	p.mu.Lock()
	p.upstream++
	p.mu.Unlock()
}

func shortDNSError(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return dnsErr.Err
	}
	return err.Error()
}

// ServeHTTP answers CONNECT (tunnels) and absolute-URI requests (plain HTTP forwarding).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "SkyDeploy egress proxy: only CONNECT and absolute http:// URLs are proxied", http.StatusBadRequest)
		return
	}
	p.forward(w, r)
}

func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "443")
	}
	up, err := p.Dial(r.Context(), target)
	if err != nil {
		writeRefusal(w, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "tunnels unsupported", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	p.track(client, true)
	defer p.track(client, false)
	defer client.Close()
	defer up.Close()
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { copyClose(up, buf.Reader); done <- struct{}{} }()
	go func() { copyClose(client, up); done <- struct{}{} }()
	<-done
	<-done
}

// copyClose copies src to dst and then half-closes dst's writing side.
func copyClose(dst net.Conn, src io.Reader) {
	_, _ = io.Copy(dst, src)
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := dst.(closeWriter); ok {
		_ = cw.CloseWrite()
	} else if cc, ok := dst.(*countingConn); ok {
		if cw, ok := cc.Conn.(closeWriter); ok {
			_ = cw.CloseWrite()
		}
	}
}

// hopHeaders are removed when forwarding a request.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	hostport := r.URL.Host
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(hostport, "80")
	}
	up, err := p.Dial(r.Context(), hostport)
	if err != nil {
		writeRefusal(w, err)
		return
	}
	defer up.Close()
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Close = true
	if err := out.Write(up); err != nil {
		http.Error(w, "SkyDeploy egress proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	res, err := http.ReadResponse(bufio.NewReader(up), out)
	if err != nil {
		http.Error(w, "SkyDeploy egress proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for _, h := range hopHeaders {
		res.Header.Del(h)
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

func writeRefusal(w http.ResponseWriter, err error) {
	var r *Refusal
	if errors.As(err, &r) {
		http.Error(w, "SkyDeploy egress proxy: "+r.Error(), http.StatusForbidden)
		return
	}
	http.Error(w, "SkyDeploy egress proxy: "+err.Error(), http.StatusBadGateway)
}

// countingConn counts bytes in both directions against the proxy's budget.
type countingConn struct {
	net.Conn
	p    *Proxy
	host string
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.p.addBytes(c.host, n) {
		return 0, ErrByteLimit
	}
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	if !c.p.addBytes(c.host, len(b)) {
		return 0, ErrByteLimit
	}
	return c.Conn.Write(b)
}
