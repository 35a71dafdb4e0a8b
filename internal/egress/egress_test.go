package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"registry.npmjs.org", "registry.npmjs.org", false},
		{" Registry.NPMJS.org. ", "registry.npmjs.org", false},
		{"*.yarnpkg.com", "*.yarnpkg.com", false},
		{"example.com:8443", "example.com:8443", false},
		{"203.0.113.7", "203.0.113.7", false},
		{"127.0.0.1:4873", "127.0.0.1:4873", false},
		{"[::1]:4873", "[::1]:4873", false},
		{"127.0.0.1", "", true}, // a non-public address must name its port
		{"10.0.0.1", "", true},
		{"exa mple.com", "", true},
		{"example.com:0", "", true},
		{"example.com:http", "", true},
		{"-bad.com", "", true},
	}
	for _, tt := range tests {
		rules, err := ParseRules(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseRules(%q) = %v, want an error", tt.in, rules)
			}
			continue
		}
		if err != nil || len(rules) != 1 || rules[0].String() != tt.want {
			t.Errorf("ParseRules(%q) = %v, %v; want %s", tt.in, rules, err, tt.want)
		}
	}
}

func TestParseSetting(t *testing.T) {
	for in, want := range map[string]string{"": "true/0", "public": "true/0", "OFF": "false/0", "a.com, b.com": "true/2"} {
		s, err := ParseSetting(in)
		if err != nil || fmt.Sprintf("%v/%d", s.BuildStep, len(s.Allow)) != want {
			t.Errorf("ParseSetting(%q) = %+v, %v; want %s", in, s, err, want)
		}
	}
	if _, err := ParseSetting("127.0.0.1"); err == nil {
		t.Error("ParseSetting accepted a private address without a port")
	}
}

func TestNonPublicAddresses(t *testing.T) {
	tests := map[string]bool{ // address -> public
		"203.0.113.80": true, "93.184.216.34": true, "2606:4700::1111": true,
		"127.0.0.1": false, "127.8.9.10": false, "::1": false, "::ffff:127.0.0.1": false,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "fd00::1": false,
		"169.254.169.254": false, "fe80::1": false, "fd00:ec2::254": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "ff02::1": false, "255.255.255.255": false,
		"100.64.0.1": false, "192.0.0.170": false,
		"64:ff9b::7f00:1": false, "2002:7f00:1::": false,
	}
	for a, want := range tests {
		if got := isPublic(netip.MustParseAddr(a)); got != want {
			t.Errorf("isPublic(%s) = %v, want %v (%s)", a, got, want, nonPublicReason(netip.MustParseAddr(a)))
		}
	}
}

// fakeResolver answers from a map; unknown names do not resolve.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestPolicyDecisions(t *testing.T) {
	rules, _ := ParseRules("registry.npmjs.org,*.yarnpkg.com,mirror.example:8080,127.0.0.1:4873,203.0.113.9:8443")
	allowList := Policy{Allow: rules, Deny: []netip.AddrPort{netip.MustParseAddrPort("203.0.113.50:443"), netip.AddrPortFrom(netip.MustParseAddr("203.0.113.51"), 0)}}
	open := Policy{Deny: allowList.Deny}
	res := fakeResolver{
		"registry.npmjs.org":   {"203.0.113.80"},
		"repo.yarnpkg.com":     {"203.0.113.81"},
		"rebind.example":       {"127.0.0.1"},
		"mixed.example":        {"203.0.113.82", "10.0.0.5"},
		"metadata.example":     {"169.254.169.254"},
		"mirror.example":       {"203.0.113.83"},
		"platform.example":     {"203.0.113.50"},
		"platform-any.example": {"203.0.113.51"},
		"v6.example":           {"::1"},
	}
	tests := []struct {
		policy Policy
		target string
		want   string // "" = allowed, else a word of the reason
	}{
		{open, "registry.npmjs.org:443", ""},
		{open, "registry.npmjs.org:80", ""},
		{open, "registry.npmjs.org:22", "port 22"},
		{open, "rebind.example:443", "loopback"},
		{open, "v6.example:443", "loopback"},
		{open, "mixed.example:443", "private"},
		{open, "metadata.example:80", "link-local"},
		{open, "169.254.169.254:80", "link-local"},
		{open, "10.0.0.1:443", "private"},
		{open, "localhost.invalid:443", "does not resolve"},
		{open, "platform.example:443", "platform service"},
		{open, "platform-any.example:80", "platform service"},
		{open, "203.0.113.50:443", "platform service"},
		{open, "[::ffff:127.0.0.1]:443", "loopback"},
		{allowList, "registry.npmjs.org:443", ""},
		{allowList, "repo.yarnpkg.com:443", ""},
		{allowList, "yarnpkg.com:443", "allow-list"},
		{allowList, "evil.example:443", "allow-list"},
		{allowList, "mirror.example:8080", ""},
		{allowList, "mirror.example:443", "allow-list"},
		{allowList, "127.0.0.1:4873", ""},
		{allowList, "127.0.0.1:6379", "loopback"},
		{allowList, "10.0.0.7:443", "private"},
		{allowList, "203.0.113.9:8443", ""},
	}
	for _, tt := range tests {
		var refused []*Refusal
		p := New(Options{Policy: tt.policy, Resolver: res, OnRefused: func(r *Refusal) { refused = append(refused, r) }})
		// Dial only decides here: no upstream listens, so an allowed target fails to connect
		// with a plain network error instead of a Refusal.
		p.dialer.Timeout = 1
		_, err := p.Dial(context.Background(), tt.target)
		var r *Refusal
		isRefusal := errors.As(err, &r)
		switch {
		case tt.want == "" && isRefusal:
			t.Errorf("%s: refused (%v), want allowed", tt.target, err)
		case tt.want != "" && !isRefusal:
			t.Errorf("%s: %v, want a refusal naming %q", tt.target, err, tt.want)
		case tt.want != "" && !strings.Contains(r.Error(), tt.want):
			t.Errorf("%s: refusal %q does not name %q", tt.target, r.Error(), tt.want)
		case tt.want != "" && len(refused) != 1:
			t.Errorf("%s: OnRefused called %d times", tt.target, len(refused))
		}
	}
}

// startProxy serves p on a loopback listener and returns its URL.
func startProxy(t *testing.T, p *Proxy) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	t.Cleanup(func() {
		p.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}
}

func TestProxyCarriesAllowedTraffic(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "plain %s %s", r.Method, r.URL.Path)
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 100_000))
	}))
	defer secure.Close()
	rules, err := ParseRules(plain.Listener.Addr().String() + "," + secure.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{Policy: Policy{Allow: rules}})
	proxyURL := startProxy(t, p)
	client := &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxyURL),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	res, err := client.Get(plain.URL + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "plain GET /hello" {
		t.Fatalf("plain HTTP through the proxy: %d %q", res.StatusCode, body)
	}
	res, err = client.Get(secure.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if len(body) != 100_000 {
		t.Fatalf("CONNECT tunnel carried %d bytes", len(body))
	}
	st := p.Stats()
	if len(st.Hosts) != 1 || st.Hosts[0].Host != "127.0.0.1" || st.Hosts[0].Connections != 2 || st.Bytes < 100_000 {
		t.Fatalf("stats = %+v", st)
	}
	if !strings.Contains(st.Summary(), "127.0.0.1 ×2") {
		t.Fatalf("summary = %q", st.Summary())
	}
}

func TestProxyRefusesAndSaysWhy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "SECRET") }))
	defer upstream.Close()
	var mu sync.Mutex
	var refused []string
	p := New(Options{OnRefused: func(r *Refusal) { mu.Lock(); refused = append(refused, r.Error()); mu.Unlock() }})
	proxyURL := startProxy(t, p)

	// CONNECT to a loopback service: 403 with the reason, nothing carried.
	conn, err := net.Dial("tcp", proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", upstream.Listener.Addr(), upstream.Listener.Addr())
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "loopback") {
		t.Fatalf("CONNECT to loopback: %d %q", res.StatusCode, body)
	}
	// Plain HTTP to the same service.
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	res, err = client.Get(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || strings.Contains(string(body), "SECRET") {
		t.Fatalf("plain HTTP to loopback: %d %q", res.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) != 2 || !strings.Contains(refused[0], "loopback address") {
		t.Fatalf("refusals reported: %q", refused)
	}
	if st := p.Stats(); st.Refused != 2 || len(st.Hosts) != 0 || st.Bytes != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestProxyByteLimit(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 1<<20))
	}))
	defer upstream.Close()
	rules, _ := ParseRules(upstream.Listener.Addr().String())
	p := New(Options{Policy: Policy{Allow: rules, MaxBytes: 256 << 10}})
	proxyURL := startProxy(t, p)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	res, err := client.Get(upstream.URL)
	if err == nil {
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if n >= 1<<20 {
			t.Fatalf("a 1 MiB answer passed a 256 KiB budget")
		}
	}
	st := p.Stats()
	if !st.Exceeded || st.Refused == 0 {
		t.Fatalf("budget not reported as exceeded: %+v", st)
	}
	// Once exceeded, nothing more goes out.
	if _, err := p.Dial(context.Background(), upstream.Listener.Addr().String()); err == nil || !strings.Contains(err.Error(), "byte limit") {
		t.Fatalf("dial after the budget: %v", err)
	}
}

func TestUpstreamFailuresAreCounted(t *testing.T) {
	// A port nothing listens on, explicitly allowed: the connection fails on the network's side.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	rules, _ := ParseRules(addr)
	p := New(Options{Policy: Policy{Allow: rules}, Resolver: fakeResolver{}})
	if _, err := p.Dial(context.Background(), addr); err == nil {
		t.Fatal("dial of a closed port succeeded")
	}
	// A name that does not exist is the build's business; a failing name server is not.
	p2 := New(Options{Resolver: failingResolver{}})
	_, _ = p2.Dial(context.Background(), "registry.example:443")
	p3 := New(Options{Resolver: fakeResolver{}})
	_, _ = p3.Dial(context.Background(), "typo.example:443")
	if a, b, c := p.Stats().UpstreamFailures, p2.Stats().UpstreamFailures, p3.Stats().UpstreamFailures; a != 1 || b != 1 || c != 0 {
		t.Fatalf("upstream failures: closed port %d, name server down %d, no such name %d", a, b, c)
	}
}

type failingResolver struct{}

func (failingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "server misbehaving", IsTemporary: true}
}
