package config

import (
	"strings"
	"testing"
)

func TestCustomDomainSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // "" = valid
	}{
		{map[string]string{"SKYDEPLOY_SERVE_TLS": "acme", "SKYDEPLOY_ACME_CHALLENGES": "tls-alpn-01"}, ""},
		{map[string]string{"SKYDEPLOY_SERVE_TLS": "on"}, "SKYDEPLOY_SERVE_TLS must be off or acme"},
		{map[string]string{"SKYDEPLOY_ACME_CHALLENGES": "dns-01"}, `"dns-01" is not http-01 or tls-alpn-01`},
		{map[string]string{"SKYDEPLOY_TLS_S3_BUCKET": "tls", "SKYDEPLOY_TLS_S3_ACCESS_KEY": "k"}, "go together"},
		{map[string]string{"SKYDEPLOY_TLS_S3_BUCKET": "tls", "SKYDEPLOY_TLS_S3_ACCESS_KEY": "k", "SKYDEPLOY_TLS_S3_SECRET_KEY": "s"}, ""},
	} {
		c, err := FromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want an error saying %q", tc.env, err, tc.want)
		}
		if tc.want == "" && c.DomainVerifyTimeout <= 0 {
			t.Errorf("no verification timeout by default")
		}
	}
}
