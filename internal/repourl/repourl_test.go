package repourl

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	public := Policy{AllowedHosts: []string{"github.com", "gitlab.com"}}
	local := Policy{AllowedHosts: []string{"github.com"}, AllowPrivate: true, AllowInsecure: true}
	for _, tc := range []struct {
		name    string
		policy  Policy
		in      string
		want    string
		wantErr string
	}{
		{"github https", public, "https://github.com/owner/repo", "https://github.com/owner/repo", ""},
		{"trailing slash and .git", public, "https://GitHub.com/owner/repo.git/", "https://github.com/owner/repo.git", ""},
		{"spaces trimmed", public, "  https://github.com/o/r  ", "https://github.com/o/r", ""},
		{"empty", public, "", "", "required"},
		{"not a url", public, "not a url", "", "spaces"},
		{"relative", public, "github.com/owner/repo", "", "absolute"},
		{"file scheme", public, "file:///etc/passwd", "", "scheme \"file\""},
		{"ssh scheme", public, "ssh://git@github.com/o/r", "", "scheme \"ssh\""},
		{"git scheme", public, "git://github.com/o/r", "", "scheme \"git\""},
		{"scp form", public, "git@github.com:o/r.git", "", "SSH"},
		{"http refused", public, "http://github.com/o/r", "", "https"},
		{"credentials", public, "https://user:pass@github.com/o/r", "", "credentials"},
		{"token only", public, "https://ghp_x@github.com/o/r", "", "credentials"},
		{"host not allowed", public, "https://evil.example/o/r", "", "not in the allowed"},
		{"subdomain not allowed", public, "https://api.github.com.evil.example/o/r", "", "not in the allowed"},
		{"loopback", public, "https://127.0.0.1/o/r", "", "internal address"},
		{"localhost", public, "https://localhost/o/r", "", "internal host"},
		{"metadata ip", public, "https://169.254.169.254/latest", "", "internal address"},
		{"private range", public, "https://10.0.0.8/o/r", "", "internal address"},
		{"ipv6 loopback", public, "https://[::1]/o/r", "", "internal address"},
		{"decimal ip", public, "https://2130706433/o/r", "", "not in the allowed"},
		{"port", public, "https://github.com:8443/o/r", "", "port"},
		{"no path", public, "https://github.com", "", "no repository path"},
		{"query", public, "https://github.com/o/r?x=1", "", "query"},
		{"dot segments", public, "https://github.com/o/../r", "", "dot segments"},
		{"option-like", public, "--upload-pack=touch", "", "'-'"},
		{"loopback allowed locally", local, "http://127.0.0.1:8080/repo.git", "http://127.0.0.1:8080/repo.git", ""},
		{"localhost allowed locally", local, "http://localhost:9000/r", "http://localhost:9000/r", ""},
		{"local still needs allow-list for public", local, "https://gitlab.com/o/r", "", "not in the allowed"},
		{"wildcard", Policy{AllowedHosts: []string{"*"}}, "https://git.example.org/o/r", "https://git.example.org/o/r", ""},
		{"wildcard still blocks internal", Policy{AllowedHosts: []string{"*"}}, "https://192.168.1.1/o/r", "", "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.policy.Validate(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Validate(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Validate(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestValidateBranch(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true}, {"main", true}, {"feature/login", true}, {"release-1.2", true},
		{"-f", false}, {"--upload-pack=x", false}, {"a..b", false}, {"a b", false}, {"a~1", false},
		{"x.lock", false}, {"/abs", false}, {"trail/", false}, {"a@{1}", false}, {"a\x00b", false},
		{"feat/.hidden", false}, {"a:b", false}, {strings.Repeat("a", 256), false},
	} {
		if err := ValidateBranch(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateBranch(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestIsInternal(t *testing.T) {
	for _, tc := range []struct {
		ip       string
		internal bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.0.1", true},
		{"169.254.169.254", true}, {"::1", true}, {"fe80::1", true}, {"fc00::1", true}, {"0.0.0.0", true},
		{"100.64.0.1", true}, {"::ffff:127.0.0.1", true},
		{"140.82.112.3", false}, {"8.8.8.8", false}, {"2606:4700::1111", false},
	} {
		if got := IsInternal(netip.MustParseAddr(tc.ip)); got != tc.internal {
			t.Errorf("IsInternal(%s) = %v, want %v", tc.ip, got, tc.internal)
		}
	}
}

func TestGitHubRepo(t *testing.T) {
	owner, name, ok := GitHubRepo("https://github.com/octo/site.git")
	if !ok || owner != "octo" || name != "site" {
		t.Fatalf("GitHubRepo = %q %q %v", owner, name, ok)
	}
	if _, _, ok := GitHubRepo("https://gitlab.com/octo/site"); ok {
		t.Fatal("GitHubRepo accepted a gitlab URL")
	}
}

func TestCanonical(t *testing.T) {
	same := [][2]string{
		{"https://github.com/Owner/Repo", "https://GITHUB.com/Owner/Repo.git"},
		{"https://github.com/o/r/", "https://github.com:443/o/r"},
		{"http://127.0.0.1:8000/site.git", "HTTP://127.0.0.1:8000/site"},
		{" https://gitlab.com/g/sub/r.git ", "https://gitlab.com/g/sub/r"},
		// GitHub's names ignore case: a push webhook spells the repository its own way.
		{"https://github.com/acme/site", "https://github.com/Acme/Site/"},
		{"https://github.com/o/repo", "https://GitHub.com/o/Repo.git"},
	}
	for _, p := range same {
		if !SameRepository(p[0], p[1]) {
			t.Errorf("%q and %q should be the same repository (%q vs %q)", p[0], p[1], Canonical(p[0]), Canonical(p[1]))
		}
	}
	different := [][2]string{
		{"https://github.com/o/r", "https://github.com/o/r2"},
		{"https://github.com/o/r", "https://gitlab.com/o/r"},
		{"https://github.com/o/r", "http://github.com:8080/o/r"},
		{"https://git.example.com/o/Repo", "https://git.example.com/o/repo"},
		{"https://github.com/acme/site", "http://github.com/acme/site"},
		{"https://github.com/acme/site", "https://github.com/acme/other"},
	}
	for _, p := range different {
		if SameRepository(p[0], p[1]) {
			t.Errorf("%q and %q should differ", p[0], p[1])
		}
	}
}
