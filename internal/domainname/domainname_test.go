package domainname

import (
	"errors"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/hostroute"
)

func TestCheck(t *testing.T) {
	r := Rules{BaseDomain: "sites.example.com", Reserved: []string{"deploy.example.com:443"}}
	for _, tc := range []struct {
		in, want string // want "" = refused
		reason   string
	}{
		{"www.shop.com", "www.shop.com", ""},
		{"  WWW.Shop.COM. ", "www.shop.com", ""},
		{"shop.com", "shop.com", ""},
		{"shop.test", "shop.test", ""},
		{"a.b.c.shop.co.uk", "a.b.c.shop.co.uk", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example", ""},
		{"example.com", "example.com", ""},
		{"deploy.example.com.evil.org", "deploy.example.com.evil.org", ""},
		{"", "", "required"},
		{"https://shop.com/", "", "not a host name"},
		{"shop.com/path", "", "not a host name"},
		{"user@shop.com", "", "not a host name"},
		{"*.shop.com", "", "wildcard"},
		{"www.*.com", "", "wildcard"},
		{"192.0.2.1", "", "IP address"},
		{"2001:db8::1", "", "IP address"},
		{"[2001:db8::1]", "", "IP address"},
		{"shop.com:8080", "", "port"},
		{"shop.com..", "", "empty label"},
		{".shop.com", "", "empty label"},
		{"shop..com", "", "empty label"},
		{"com", "", "single label"},
		{"localhost", "", "single label"},
		{"app.localhost", "", "not a public name"},
		{"printer.local", "", "not a public name"},
		{"x.internal", "", "not a public name"},
		{"-shop.com", "", "hyphen"},
		{"shop-.com", "", "hyphen"},
		{"my_shop.com", "", "underscore"},
		{"sh op.com", "", "character"},
		{strings.Repeat("a", 64) + ".com", "", "at most 63"},
		{strings.Repeat("abcdefghi.", 26) + "com", "", "at most 253"},
		{"shop.123", "", "numeric"},
		{"1.2.3.4.5", "", "numeric"},
		{"sites.example.com", "", "base domain"},
		{"SITES.example.com.", "", "base domain"},
		{"blog.sites.example.com", "", "under the platform's base domain"},
		{"a.b.sites.example.com", "", "under the platform's base domain"},
		{"deploy.example.com", "", "platform's own names"},
		{"x.deploy.example.com", "", "platform's own names"},
		{"co.uk", "", "public suffix"},
		{"github.io", "", "public suffix"},
		{"xn--zz.example", "", "internationalised"},
	} {
		got, err := r.Check(tc.in)
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("Check(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		var de *Error
		if err == nil || !errors.As(err, &de) {
			t.Errorf("Check(%q) = %q, %v; want an *Error about %q", tc.in, got, err, tc.reason)
			continue
		}
		if !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("Check(%q): %q does not say %q", tc.in, err, tc.reason)
		}
	}
}

// Every name Check accepts is one the request handler routes as a custom domain: a name it
// would parse as a deployment, an alias or nothing could be added but never served.
func TestAcceptedNamesRouteAsCustom(t *testing.T) {
	r := Rules{BaseDomain: "sites.example.com"}
	for _, in := range []string{"www.shop.com", "shop.test", "bücher.example", "a-b.c-d.example.org", "0day.shop.io"} {
		d, err := r.Check(in)
		if err != nil {
			t.Fatalf("Check(%q): %v", in, err)
		}
		if rt := hostroute.Parse(d, "sites.example.com"); rt.Kind != hostroute.Custom || rt.Name != d {
			t.Errorf("%s routes as %v %q, want custom", d, rt.Kind, rt.Name)
		}
	}
}

func TestRecords(t *testing.T) {
	tok := NewToken()
	if len(tok) != 32 || tok == NewToken() {
		t.Fatalf("token %q", tok)
	}
	target := Target{CNAME: "custom.sites.example.com.", Addresses: []string{"203.0.113.10", "2001:db8::10", "junk"}}
	str := func(rs []Record) string {
		var b []string
		for _, r := range rs {
			b = append(b, r.Purpose+":"+r.Type+" "+r.Name+" "+r.Value)
		}
		return strings.Join(b, "; ")
	}
	for _, tc := range []struct {
		d    string
		t    Target
		want string
	}{
		{"www.shop.com", target, "verify:TXT _skydeploy-challenge.www.shop.com " + tok + "; route:CNAME www.shop.com custom.sites.example.com"},
		{"shop.com", target, "verify:TXT _skydeploy-challenge.shop.com " + tok + "; route:A shop.com 203.0.113.10; route:AAAA shop.com 2001:db8::10"},
		{"shop.co.uk", target, "verify:TXT _skydeploy-challenge.shop.co.uk " + tok + "; route:A shop.co.uk 203.0.113.10; route:AAAA shop.co.uk 2001:db8::10"},
		{"www.shop.com", Target{Addresses: []string{"203.0.113.10"}}, "verify:TXT _skydeploy-challenge.www.shop.com " + tok + "; route:A www.shop.com 203.0.113.10"},
		{"www.shop.com", Target{}, "verify:TXT _skydeploy-challenge.www.shop.com " + tok},
	} {
		if got := str(Records(tc.d, tok, tc.t)); got != tc.want {
			t.Errorf("Records(%s):\n got %s\nwant %s", tc.d, got, tc.want)
		}
	}
	if !IsApex("shop.com") || IsApex("www.shop.com") || !IsApex("shop.co.uk") {
		t.Error("IsApex")
	}
}
