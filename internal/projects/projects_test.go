package projects

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const testKey = "0123456789abcdef0123456789abcdef-test"

func TestSealRoundTripAndTamper(t *testing.T) {
	s, err := NewSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("site", "API_TOKEN", "s3cr3t-value")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "s3cr3t") || !strings.HasPrefix(sealed, "v1:") {
		t.Fatalf("sealed value %q leaks the plain text or lacks the version", sealed)
	}
	if again, _ := s.Seal("site", "API_TOKEN", "s3cr3t-value"); again == sealed {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	plain, err := s.Open("site", "API_TOKEN", sealed)
	if err != nil || plain != "s3cr3t-value" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	raw[len(raw)-1] ^= 1
	tampered := "v1:" + base64.RawURLEncoding.EncodeToString(raw)
	if _, err := s.Open("site", "API_TOKEN", tampered); !errors.Is(err, ErrTampered) {
		t.Fatalf("tampered value: %v", err)
	}
	if _, err := s.Open("other", "API_TOKEN", sealed); !errors.Is(err, ErrTampered) {
		t.Fatalf("value moved to another project: %v", err)
	}
	if _, err := s.Open("site", "OTHER", sealed); !errors.Is(err, ErrTampered) {
		t.Fatalf("value moved to another key: %v", err)
	}
	other, _ := NewSealer(testKey + "x")
	if _, err := other.Open("site", "API_TOKEN", sealed); !errors.Is(err, ErrTampered) {
		t.Fatalf("other secret key: %v", err)
	}
	if _, err := s.Open("site", "API_TOKEN", "v1:short"); !errors.Is(err, ErrTampered) {
		t.Fatalf("truncated value: %v", err)
	}
	var none *Sealer
	if _, err := none.Seal("site", "K", "v"); !errors.Is(err, ErrNoSecretKey) {
		t.Fatalf("no key: %v", err)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":              "••••",
		"short":         "••••",
		"1234567":       "••••",
		"12345678":      "••••5678",
		"sk_live_abc":   "••••_abc",
		"ключ-значение": "••••ение",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateEnvKey(t *testing.T) {
	for _, ok := range []string{"API_URL", "_X", "a1", "NODE_OPTIONS", "VITE_KEY", "NEXT_PUBLIC_X"} {
		if err := ValidateEnvKey(ok); err != nil {
			t.Errorf("%s rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1X", "A-B", "A B", "A=B", "SKYDEPLOY_SECRET_KEY", "skydeploy_x", "PATH", "HOME", "LD_PRELOAD", "ld_library_path", "DYLD_INSERT_LIBRARIES", "BASH_ENV", strings.Repeat("A", 300)} {
		if err := ValidateEnvKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBranchAlias(t *testing.T) {
	long := strings.Repeat("feature-", 20)
	cases := map[[2]string]string{
		{"site", "dev"}:         "site--dev",
		{"site", "release-2"}:   "site--release-2",
		{"site", "Feature/New"}: "site--feature-new-" + shortHash("Feature/New"),
		{"site", "feature/new"}: "site--feature-new-" + shortHash("feature/new"),
		{"site", "feature-new"}: "site--feature-new",
		{"site", "ünï"}:         "site--n-" + shortHash("ünï"),
		{"site", "///"}:         "site--" + shortHash("///"),
	}
	for in, want := range cases {
		if got := BranchAlias(in[0], in[1]); got != want {
			t.Errorf("BranchAlias(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
	seen := map[string]string{}
	for _, b := range []string{long, long + "x", "a/b", "a-b", "A-B", strings.Repeat("x", 100)} {
		got := BranchAlias("a-fairly-long-project-name", b)
		if len(got) > MaxLabel || strings.HasSuffix(got, "-") || got != strings.ToLower(got) {
			t.Errorf("BranchAlias(%q) = %q: not a DNS label", b, got)
		}
		for _, r := range got {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Errorf("BranchAlias(%q) = %q has %q", b, got, r)
			}
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("branches %q and %q share label %q", prev, b, got)
		}
		seen[got] = b
	}
}

func TestAliasLabelsAndIDs(t *testing.T) {
	if got := AliasLabels("site", true, "main"); len(got) != 1 || got[0] != "site" {
		t.Fatalf("production labels = %v", got)
	}
	if got := AliasLabels("site", false, "dev"); len(got) != 1 || got[0] != "site--dev" {
		t.Fatalf("preview labels = %v", got)
	}
	sha := strings.Repeat("ab", 20)
	prod := DeploymentID("site", DeployTarget{Commit: sha, Production: true})
	prev := DeploymentID("site", DeployTarget{Branch: "dev", Commit: sha})
	if prod == prev {
		t.Fatal("a preview and the production deployment of one commit share an id")
	}
	if prod != DeploymentID("site", DeployTarget{Branch: "main", Commit: sha, Production: true, Trigger: "webhook"}) {
		t.Fatal("production id depends on more than project and commit")
	}
}
