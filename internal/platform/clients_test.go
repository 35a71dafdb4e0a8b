package platform

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "temporal"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestTemporalTLS(t *testing.T) {
	cfg := config.Default()
	if tc, err := TemporalTLS(cfg); tc != nil || err != nil {
		t.Fatalf("no TLS settings: %v %v", tc, err)
	}
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	cfg.TemporalTLSCA, cfg.TemporalTLSCert, cfg.TemporalTLSKey, cfg.TemporalTLSServerName = cert, cert, key, "temporal"
	tc, err := TemporalTLS(cfg)
	if err != nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "temporal" {
		t.Fatalf("mTLS settings: %+v %v", tc, err)
	}
	for name, mutate := range map[string]func(*config.Config){
		"SKYDEPLOY_TEMPORAL_TLS_CA": func(c *config.Config) { c.TemporalTLSCA = filepath.Join(dir, "missing.pem") },
		"holds no PEM": func(c *config.Config) {
			c.TemporalTLSCA = key + ".txt"
			_ = os.WriteFile(c.TemporalTLSCA, []byte("x"), 0o600)
		},
		"SKYDEPLOY_TEMPORAL_TLS_CERT": func(c *config.Config) { c.TemporalTLSKey = cert },
	} {
		c := cfg
		mutate(&c)
		if _, err := TemporalTLS(c); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
