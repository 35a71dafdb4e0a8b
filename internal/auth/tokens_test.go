package auth

import (
	"strings"
	"testing"
)

func TestGenerateAndHash(t *testing.T) {
	a, b := Generate(), Generate()
	if a == b || !strings.HasPrefix(a, "skd_") || len(a) < 30 {
		t.Fatalf("Generate() = %q, %q", a, b)
	}
	if Hash(a) == Hash(b) || len(Hash(a)) != 64 || Hash(a) != Hash(a) {
		t.Fatal("Hash is not a stable SHA-256 hex")
	}
}

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		scope, need string
		ok          bool
	}{
		{ScopeDeploy, ScopeDeploy, true}, {ScopeDeploy, ScopeRead, true},
		{ScopeRead, ScopeRead, true}, {ScopeRead, ScopeDeploy, false},
		{"", ScopeRead, false}, {"admin", ScopeRead, false},
	} {
		if got := Allows(tc.scope, tc.need); got != tc.ok {
			t.Errorf("Allows(%q, %q) = %v", tc.scope, tc.need, got)
		}
	}
}

func TestStaticTokenConstantTime(t *testing.T) {
	s := NewStore(nil, "secret-static-token")
	tok, err := s.Check(t.Context(), "secret-static-token")
	if err != nil || tok.Scope != ScopeDeploy {
		t.Fatalf("static token: %v %+v", err, tok)
	}
	if _, err := s.Check(t.Context(), "secret-static-tokeN"); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	if _, err := s.Check(t.Context(), ""); err == nil {
		t.Fatal("an empty token was accepted")
	}
}
