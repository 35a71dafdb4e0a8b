package servehandler

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

func TestOrderLimiter(t *testing.T) {
	l := orderLimiter{every: 10 * time.Minute, last: map[string]time.Time{}}
	t0 := time.Now()
	for _, tc := range []struct {
		host string
		at   time.Duration
		want bool
	}{
		{"shop.test", 0, true},
		{"shop.test", time.Minute, false},
		{"www.shop.test", time.Minute, true},
		{"shop.test", 9 * time.Minute, false},
		{"shop.test", 10 * time.Minute, true},
		{"shop.test", 11 * time.Minute, false},
	} {
		if got := l.allow(tc.host, t0.Add(tc.at)); got != tc.want {
			t.Errorf("allow(%s, +%s) = %v, want %v", tc.host, tc.at, got, tc.want)
		}
	}
}

// A limited order is refused before it reaches the CA, and certmagic is told not to retry.
func TestLimitedIssuerRefusesWithoutRetry(t *testing.T) {
	l := &limitedIssuer{orders: &orderLimiter{every: time.Hour, last: map[string]time.Time{"shop.test": time.Now()}}}
	_, err := l.Issue(context.Background(), &x509.CertificateRequest{DNSNames: []string{"shop.test"}})
	var noRetry certmagic.ErrNoRetry
	if !errors.As(err, &noRetry) {
		t.Fatalf("Issue = %v, want ErrNoRetry", err)
	}
}

func TestEnableTLSNeedsStorageAndAChallenge(t *testing.T) {
	h := New(nil, Options{BaseDomain: "sites.test", DiskCacheBytes: -1})
	if err := h.EnableTLS(TLSOptions{}); err == nil {
		t.Error("EnableTLS without storage succeeded")
	}
	if err := h.EnableTLS(TLSOptions{Storage: &certmagic.FileStorage{Path: t.TempDir()}, DisableHTTP01: true, DisableTLSALPN01: true}); err == nil {
		t.Error("EnableTLS without a challenge type succeeded")
	}
}
