package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestFromLookupOverlaysDefaults(t *testing.T) {
	env := map[string]string{
		"SKYDEPLOY_GATEWAY_ADDR":      ":9000",
		"SKYDEPLOY_ALLOWED_GIT_HOSTS": "GitHub.com, git.example.org ,",
		"SKYDEPLOY_BUILD_TIMEOUT":     "90s",
		"SKYDEPLOY_SERVE_CACHE_BYTES": "64Mi",
		"SKYDEPLOY_REQUIRE_AUTH":      "false",
	}
	cfg, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GatewayAddr != ":9000" || cfg.ServeAddr != ":3002" || cfg.BuildTimeout != 90*time.Second || cfg.ServeCacheBytes != 64<<20 || cfg.RequireAuth {
		t.Fatalf("unexpected config: %+v", cfg)
	}
	if strings.Join(cfg.AllowedGitHosts, ",") != "github.com,git.example.org" {
		t.Fatalf("AllowedGitHosts = %v", cfg.AllowedGitHosts)
	}
}

func TestFromLookupRejectsBadValues(t *testing.T) {
	for k, v := range map[string]string{
		"SKYDEPLOY_BUILD_TIMEOUT":     "soon",
		"SKYDEPLOY_MAX_FILES":         "many",
		"SKYDEPLOY_REQUIRE_AUTH":      "maybe",
		"SKYDEPLOY_BUILD_SANDBOX":     "bwrap", // renamed: refused with a message naming it
		"SKYDEPLOY_SANDBOX":           "auto",  // no silent fallback any more
		"SKYDEPLOY_BUILD_CGROUPS":     "maybe",
		"SKYDEPLOY_BUILD_CPUS":        "-1",
		"SKYDEPLOY_SECRET_KEY":        "short",
		"SKYDEPLOY_BUILD_CONCURRENCY": "0",
		"SKYDEPLOY_CLONE_CONCURRENCY": "0",
		"SKYDEPLOY_GIT_CREDENTIALS":   "git.example.com=justatoken",
	} {
		_, err := FromLookup(func(name string) (string, bool) {
			if name == k {
				return v, true
			}
			return "", false
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: err = %v, want one naming the variable", k, v, err)
		}
	}
}

func TestSiteURL(t *testing.T) {
	c := Default()
	if got := c.SiteURL("abc"); got != "http://abc.localhost:3002/" {
		t.Fatalf("SiteURL = %q", got)
	}
	c.SiteScheme, c.SitePort, c.BaseDomain = "https", "443", "sites.example.com"
	if got := c.SiteURL("blog"); got != "https://blog.sites.example.com/" {
		t.Fatalf("SiteURL = %q", got)
	}
}

// Every variable the program reads is documented in README.md.
func TestEveryVariableIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("%s is read by the program but not documented in README.md", name)
		}
	}
}

func TestEnvironRoundTrips(t *testing.T) {
	c := Default()
	c.GatewayAddr, c.AllowedGitHosts, c.BuildTimeout, c.MaxFiles, c.ServeCacheBytes, c.RequireAuth = ":1", []string{"a.example", "b.example"}, time.Minute, 7, 1234, false
	c.GitCredentials = map[string]string{"a.example": "u:t", "b.example:8443": "v:w"}
	env := map[string]string{}
	for _, kv := range c.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if len(env) != len(Names()) {
		t.Fatalf("Environ has %d variables, Names %d", len(env), len(Names()))
	}
	got, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if got.GatewayAddr != ":1" || strings.Join(got.AllowedGitHosts, ",") != "a.example,b.example" || got.BuildTimeout != time.Minute ||
		got.MaxFiles != 7 || got.ServeCacheBytes != 1234 || got.RequireAuth || len(got.GitCredentials) != 2 || got.GitCredentials["b.example:8443"] != "v:w" {
		t.Fatalf("round trip lost settings: %+v", got)
	}
}

func TestGitCredentials(t *testing.T) {
	lookup := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == "SKYDEPLOY_GIT_CREDENTIALS" {
				return v, true
			}
			return "", false
		}
	}
	cfg, err := FromLookup(lookup(" Git.Example.com=alice:pa:ss , gitlab.com:8443=oauth2:glpat-1,"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.GitCredentials) != 2 || cfg.GitCredentials["git.example.com"] != "alice:pa:ss" || cfg.GitCredentials["gitlab.com:8443"] != "oauth2:glpat-1" {
		t.Fatalf("GitCredentials = %v", cfg.GitCredentials)
	}
	if Default().GitCredentials != nil {
		t.Error("no host gets credentials by default")
	}
	for _, bad := range []string{"git.example.com", "=u:t", "h=:t", "h=u:", "h=u:t,h=v:w", "https://h/=u:t", "u:secret-token@h=u:t"} {
		_, err := FromLookup(lookup(bad))
		if err == nil || !strings.Contains(err.Error(), "SKYDEPLOY_GIT_CREDENTIALS") {
			t.Errorf("%q: err = %v", bad, err)
		}
		if err != nil && (strings.Contains(err.Error(), "secret-token") || strings.Contains(err.Error(), "u:t")) {
			t.Errorf("%q: the error shows the token: %v", bad, err)
		}
	}
}

func TestRefusePlaceholders(t *testing.T) {
	c := Default()
	err := c.RefusePlaceholders()
	if err == nil || !strings.Contains(err.Error(), "development key") {
		t.Fatalf("the development keys were accepted: %v", err)
	}
	c.S3AccessKey, c.S3SecretKey = "AKIAREAL", "a-real-secret-0123456789"
	if err := c.RefusePlaceholders(); err != nil {
		t.Fatalf("real keys refused: %v", err)
	}
	for name, set := range map[string]func(*Config){
		"SKYDEPLOY_SECRET_KEY":     func(c *Config) { c.SecretKey = "CHANGE-ME-openssl-rand-hex-32" },
		"SKYDEPLOY_REDIS_URL":      func(c *Config) { c.RedisURL = "redis://:skydeploy-redis-change-me@redis:6379/0" },
		"SKYDEPLOY_S3_SECRET_KEY":  func(c *Config) { c.S3SecretKey = "skydeploy-s3-secret-change-me" },
		"SKYDEPLOY_WEBHOOK_SECRET": func(c *Config) { c.WebhookSecret = "changeme" },
	} {
		cc := c
		set(&cc)
		if err := cc.RefusePlaceholders(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s with a placeholder: %v", name, err)
		}
	}
}
