package hostroute

import (
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/ids"
)

func TestParse(t *testing.T) {
	const base = "localhost"
	tests := []struct {
		host string
		want Route
	}{
		{"0abcdefghjkm.localhost", Route{Deployment, "0abcdefghjkm"}},
		{"0abcdefghjkm.localhost:3002", Route{Deployment, "0abcdefghjkm"}},
		{"0ABCDEFGHJKM.LOCALHOST", Route{Deployment, "0abcdefghjkm"}},
		{"0abcdefghjkm.localhost.", Route{Deployment, "0abcdefghjkm"}},
		{"0abcdefghjkm.localhost.:8080", Route{Deployment, "0abcdefghjkm"}},
		{"blog.localhost", Route{Alias, "blog"}},
		{"Blog.LocalHost:80", Route{Alias, "blog"}},
		{"blog--feature-x.localhost", Route{Alias, "blog--feature-x"}},
		{"www.example.com", Route{Custom, "www.example.com"}},
		{"WWW.Example.COM.:443", Route{Custom, "www.example.com"}},
		{"example.com", Route{Custom, "example.com"}},

		// Not a deployment id: starts with a digit but the wrong shape.
		{"0abc.localhost", Route{}},
		{"0abcdefghjki.localhost", Route{}}, // i is not in the alphabet
		// Nested labels below the base domain are never looked up.
		{"a.b.localhost", Route{}},
		{"0abcdefghjkm.blog.localhost", Route{}},
		// The base domain itself and empty labels.
		{"localhost", Route{}},
		{"localhost:3002", Route{}},
		{".localhost", Route{}},
		{"", Route{}},
		{":3002", Route{}},
		// Garbage.
		{"blog .localhost", Route{}},
		{"user@blog.localhost", Route{}},
		{"blog.localhost/evil", Route{}},
		{"blog_x.localhost", Route{}},
		{"-blog.localhost", Route{}},
		{"blog-.localhost", Route{}},
		{"blog.localhost:abc", Route{}},
		{"blog.localhost:123456", Route{}},
		{"blog.localhost:80:80", Route{}},
		{"blög.localhost", Route{}},
		{"blog\x00.localhost", Route{}},
		{strings.Repeat("a", 64) + ".localhost", Route{}},
		{strings.Repeat("a.", 130) + "com", Route{}},
		// IP literals are not custom domains.
		{"127.0.0.1", Route{}},
		{"127.0.0.1:3002", Route{}},
		{"[::1]", Route{}},
		{"[::1]:3002", Route{}},
		{"[0abcdefghjkm.localhost]", Route{}},
		// A single-label custom host (an intranet name) is not served.
		{"intranet", Route{}},
		{"example..com", Route{}},
	}
	for _, tt := range tests {
		if got := Parse(tt.host, base); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.host, got, tt.want)
		}
	}
}

func TestParseOtherBase(t *testing.T) {
	base := NormalizeBase("Sites.Example.org.")
	if base != "sites.example.org" {
		t.Fatalf("NormalizeBase = %q", base)
	}
	if got := Parse("blog.sites.example.org", base); got != (Route{Alias, "blog"}) {
		t.Errorf("got %+v", got)
	}
	// Under another part of the same domain: a custom domain, looked up as such.
	if got := Parse("blog.example.org", base); got != (Route{Custom, "blog.example.org"}) {
		t.Errorf("got %+v", got)
	}
	if got := Parse("sites.example.org", base); got != (Route{}) {
		t.Errorf("apex: got %+v", got)
	}
	if NormalizeBase("localhost:3002") != "localhost" {
		t.Error("port not stripped")
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_ = Parse("blog.localhost:3002", "localhost")
		_ = Parse("0abcdefghjkm.localhost", "localhost")
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %v times", allocs)
	}
}

func TestIsDeploymentAgreesWithIDs(t *testing.T) {
	samples := []string{"", "0", "0abcdefghjkm", "0abcdefghjki", "0abcdefghjkl", "0abcdefghjko", "0abcdefghjku",
		"aabcdefghjkm", "0ABCDEFGHJKM", "0abcdefghjkmn", "9zzzzzzzzzzz", "0-bcdefghjkm", "012345678912"}
	for i := 0; i < 200; i++ {
		samples = append(samples, ids.NewDeployment())
	}
	for c := 0; c < 256; c++ {
		samples = append(samples, "0abcdefghjk"+string(rune(c)), string(rune(c))+"abcdefghjkm")
	}
	for _, s := range samples {
		if isDeployment(s) != ids.IsDeployment(s) {
			t.Errorf("isDeployment(%q) = %v, ids.IsDeployment = %v", s, isDeployment(s), ids.IsDeployment(s))
		}
	}
}
