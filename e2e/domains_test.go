package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/certstore"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/devstack"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/servehandler"
)

// acmeServer is Pebble (a real ACME CA) with pebble-challtestsrv as the DNS of test domains:
// every A query is answered 127.0.0.1, TXT records are what the test sets.
type acmeServer struct {
	t          *testing.T
	dir        string // Pebble's directory URL
	dns        string // the test DNS server (host:port)
	mgmt       string // pebble-challtestsrv's management API
	pebbleMgmt string // Pebble's management API (roots)
	apiRoots   *x509.CertPool
	apiRootPEM string // file of the root of Pebble's own HTTPS
	log        *syncBuffer
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startProcess runs a tool from bin/ in its own process group, killed when the test ends.
func startProcess(t *testing.T, out io.Writer, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t, name), args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// startACME starts the challenge test server and Pebble, whose validations of HTTP-01 and
// TLS-ALPN-01 go to 127.0.0.1 on httpPort and tlsPort.
func startACME(t *testing.T, httpPort, tlsPort int) *acmeServer {
	t.Helper()
	dir := t.TempDir()
	a := &acmeServer{t: t, log: &syncBuffer{}}
	a.dns = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a.mgmt = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	challLog := &syncBuffer{}
	startProcess(t, challLog, nil, "pebble-challtestsrv", "-dns01", a.dns, "-management", a.mgmt,
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	waitPort(t, a.mgmt)

	// Pebble's own HTTPS certificate, from a root the test makes.
	rootPEM, certPEM, keyPEM := testCertificates(t)
	a.apiRootPEM = filepath.Join(dir, "root.pem")
	for name, data := range map[string][]byte{"root.pem": rootPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a.apiRoots = x509.NewCertPool()
	a.apiRoots.AppendCertsFromPEM(rootPEM)
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a.pebbleMgmt = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": a.pebbleMgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "externalAccountBindingRequired": false,
	}})
	if err := os.WriteFile(filepath.Join(dir, "pebble.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	// No random sleeps before validations, no random nonce rejections: a fast, steady CA.
	startProcess(t, a.log, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"pebble", "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", a.dns)
	waitPort(t, listen)
	waitPort(t, a.pebbleMgmt)
	a.dir = "https://" + listen + "/dir"
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble log:\n%s\nchalltestsrv log:\n%s", a.log, challLog)
		}
	})
	return a
}

// orders counts the orders Pebble has received.
func (a *acmeServer) orders() int { return strings.Count(a.log.String(), "Added order") }

// setTXT makes the test DNS answer name's TXT query with value.
func (a *acmeServer) setTXT(name, value string) {
	a.t.Helper()
	body, _ := json.Marshal(map[string]string{"host": name + ".", "value": value})
	res, err := http.Post("http://"+a.mgmt+"/set-txt", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != http.StatusOK {
		a.t.Fatalf("set-txt %s: %v %v", name, err, res)
	}
	res.Body.Close()
}

// issuedRoots returns the root that signs the certificates Pebble issues.
func (a *acmeServer) issuedRoots() *x509.CertPool {
	a.t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.apiRoots}}}
	res, err := c.Get("https://" + a.pebbleMgmt + "/roots/0")
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		a.t.Fatalf("roots/0: %s", data)
	}
	return pool
}

// testCertificates returns a root and a certificate it signed for 127.0.0.1 and localhost.
func testCertificates(t *testing.T) (rootPEM, certPEM, keyPEM []byte) {
	t.Helper()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "skydeploy test root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// tlsReplica is a request handler with HTTPS on, as `skydeploy serve` runs it with
// SKYDEPLOY_SERVE_TLS=acme (its own certificate store, the read-only storage user).
type tlsReplica struct {
	http, https string
	stop        func()
}

func startTLSReplica(t *testing.T, e *env, acme *acmeServer, httpLn, tlsLn net.Listener, challenges ...string) *tlsReplica {
	t.Helper()
	cfg := e.cfg
	cfg.ServeTLS, cfg.ACMECA, cfg.ACMECARoots = "acme", acme.dir, acme.apiRootPEM
	if len(challenges) > 0 {
		cfg.ACMEChallenges = challenges
	}
	log := testenv.Logger(t)
	store := readOnlyStore(t, cfg)
	h := servehandler.New(store, platform.ServeOptions(cfg, log))
	certs := certstore.New(store, log)
	if err := certs.CheckWritable(context.Background()); err != nil {
		t.Fatalf("the handler's user cannot write certificates: %v", err)
	}
	o, err := platform.ServeTLSOptions(cfg, certs, httpLn, tlsLn, log)
	if err != nil {
		t.Fatal(err)
	}
	_, o.HTTPSPort = splitPort(tlsLn.Addr().String())
	if err := h.EnableTLS(o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- servehandler.ServeTLS(ctx, h, httpLn, tlsLn, nil) }()
	r := &tlsReplica{http: httpLn.Addr().String(), https: tlsLn.Addr().String()}
	var once sync.Once
	r.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(r.stop)
	return r
}

func splitPort(addr string) (string, int) {
	h, p, _ := net.SplitHostPort(addr)
	var n int
	fmt.Sscan(p, &n)
	return h, n
}

// get fetches https://host/ from the replica, trusting roots; a failed handshake is an error.
func (r *tlsReplica) get(host string, roots *x509.CertPool) (*http.Response, string, error) {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: host},
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, r.https)
		},
	}
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	res, err := c.Get("https://" + host + "/")
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body), nil
}

// listenOn listens on addr again (a stopped replica's port, which Pebble validates on).
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if i == 50 {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestCustomDomainVerifiedAndServedOverHTTPS is issue 17 end to end: a domain added to a
// project is pending until its TXT record holds the token, then verified; its first HTTPS
// request obtains a certificate from Pebble (a real ACME CA) and serves the project; a second
// replica serves it from the shared storage without a new order; a domain that is not
// verified never causes an order; removing the domain stops serving it.
func TestCustomDomainVerifiedAndServedOverHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	httpLn, tlsLn := listen(t), listen(t)
	_, httpPort := splitPort(httpLn.Addr().String())
	_, tlsPort := splitPort(tlsLn.Addr().String())
	acme := startACME(t, httpPort, tlsPort)
	e := startEnv(t, func(c *config.Config) {
		c.BaseDomain = "sites.test"
		c.DomainDNSServer = acme.dns
		c.DomainCheckInterval = 500 * time.Millisecond
		c.DomainCNAMETarget = "custom.sites.test"
		c.DomainAddresses = []string{"127.0.0.1"}
	})
	// The first replica answers only HTTP-01 (on Pebble's httpPort), the third, later, only
	// TLS-ALPN-01 (on its tlsPort): both challenge types are answered by the handler.
	replica1 := startTLSReplica(t, e, acme, httpLn, tlsLn, "http-01")

	repo := e.git.NewRepo(t, "shop-site", map[string]string{"index.html": "<h1>the shop</h1>"})
	for _, name := range []string{"shop", "other"} {
		if code := e.do("POST", "/api/projects", map[string]any{"name": name, "repoUrl": repo.URL, "watch": map[string]any{"enabled": false}}, nil); code != http.StatusCreated {
			t.Fatalf("create project %s = %d", name, code)
		}
	}
	var started api.StartedDeployment
	if code := e.do("POST", "/api/projects/shop/deploy", nil, &started); code != http.StatusAccepted {
		t.Fatalf("deploy = %d", code)
	}
	if d := e.wait(started.ID, 2*time.Minute); d.State != "succeeded" {
		t.Fatalf("deployment %s: %s", d.State, d.Error)
	}

	// Bad input: each a 422 with the reason.
	if code := e.do("POST", "/api/projects/other/domains", map[string]string{"domain": "taken.test"}, nil); code != http.StatusCreated {
		t.Fatalf("add taken.test to other = %d", code)
	}
	for domain, reason := range map[string]string{
		"bad_name.test":   "underscore",
		"sites.test":      "base domain",
		"blog.sites.test": "under the platform's base domain",
		"*.shop.test":     "wildcard",
		"127.0.0.1":       "IP address",
		"taken.test":      "another project (other)",
		"https://x.test/": "not a host name",
	} {
		var er api.Error
		if code := e.do("POST", "/api/projects/shop/domains", map[string]string{"domain": domain}, &er); code != http.StatusUnprocessableEntity || !strings.Contains(er.Error, reason) {
			t.Errorf("add %q = %d %q, want 422 saying %q", domain, code, er.Error, reason)
		}
	}

	// Added: pending, with the records to create.
	var d api.Domain
	if code := e.do("POST", "/api/projects/shop/domains", map[string]string{"domain": "Shop.Test."}, &d); code != http.StatusCreated {
		t.Fatalf("add shop.test = %d", code)
	}
	if d.Domain != "shop.test" || d.Status != api.DomainPending || d.WorkflowID != "domain-shop.test" || len(d.Records) != 2 ||
		d.Records[0].Type != "TXT" || d.Records[0].Name != "_skydeploy-challenge.shop.test" || len(d.Records[0].Value) != 32 ||
		d.Records[1].Type != "A" || d.Records[1].Value != "127.0.0.1" {
		t.Fatalf("added domain = %+v", d)
	}
	if code := e.do("POST", "/api/projects/shop/domains", map[string]string{"domain": "shop.test"}, nil); code != http.StatusConflict {
		t.Errorf("adding it twice = %d, want 409", code)
	}
	if code := e.do("POST", "/api/projects/shop/domains", map[string]string{"domain": "pending.test"}, nil); code != http.StatusCreated {
		t.Fatalf("add pending.test = %d", code)
	}

	// Not verified: no pointer, no HTTPS, and no order at Pebble.
	time.Sleep(2 * time.Second) // a few checks that find nothing
	if code := e.do("GET", "/api/projects/shop/domains/shop.test", nil, &d); code != http.StatusOK || d.Status != api.DomainPending ||
		!strings.Contains(d.Reason, "no TXT record at _skydeploy-challenge.shop.test") || d.CheckedAt == nil {
		t.Fatalf("pending domain = %d %+v", code, d)
	}
	for _, host := range []string{"shop.test", "pending.test", "stranger.test"} {
		if _, _, err := replica1.get(host, nil); err == nil {
			t.Fatalf("HTTPS for %s, which is not verified, succeeded", host)
		}
		if res, _ := e.fetchSite(host, "/"); res.StatusCode != http.StatusNotFound {
			t.Errorf("HTTP for unverified %s = %d, want 404", host, res.StatusCode)
		}
	}
	if n := acme.orders(); n != 0 {
		t.Fatalf("Pebble received %d orders for domains that are not verified", n)
	}

	// The TXT record appears; a manual verify checks at once.
	acme.setTXT("_skydeploy-challenge.shop.test", d.Records[0].Value)
	if code := e.do("POST", "/api/projects/shop/domains/shop.test/verify", nil, nil); code != http.StatusAccepted {
		t.Fatalf("verify = %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for d.Status != api.DomainVerified && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		e.do("GET", "/api/projects/shop/domains/shop.test", nil, &d)
	}
	if d.Status != api.DomainVerified || d.VerifiedAt == nil {
		t.Fatalf("domain not verified: %+v", d)
	}
	if os.Getenv("SKYDEPLOY_RECORD_HISTORIES") == "1" {
		// Pending checks, the verify signal, activation: replayed by workflows/domain_test.go.
		tc, err := platform.TemporalClient(context.Background(), e.cfg, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		saveHistory(t, tc, filepath.Join(testenv.RepoRoot(t), "workflows", "testdata"), "domain-verified", d.WorkflowID, "")
		tc.Close()
	}

	// The first HTTPS request obtains a certificate from Pebble and serves the project.
	roots := acme.issuedRoots()
	start := time.Now()
	res, body, err := replica1.get("shop.test", roots)
	if err != nil {
		t.Fatalf("first HTTPS request: %v", err)
	}
	t.Logf("first HTTPS request (ordering the certificate) took %s", time.Since(start))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "the shop") {
		t.Fatalf("https://shop.test/ = %d %q", res.StatusCode, body)
	}
	serial := res.TLS.PeerCertificates[0].SerialNumber
	if n := acme.orders(); n != 1 {
		t.Fatalf("Pebble received %d orders, want 1", n)
	}
	// Plain HTTP is redirected to HTTPS now that the domain has a certificate.
	req, _ := http.NewRequest("GET", "http://"+replica1.http+"/a/b?c=1", nil)
	req.Host = "shop.test"
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r, err := noFollow.Do(req); err != nil || r.StatusCode != http.StatusPermanentRedirect ||
		r.Header.Get("Location") != fmt.Sprintf("https://shop.test:%d/a/b?c=1", tlsPort) {
		t.Fatalf("HTTP after the certificate: %v %+v", err, r)
	}

	// A second replica serves the same certificate from object storage, without an order.
	replica2 := startTLSReplica(t, e, acme, listen(t), listen(t))
	res, body, err = replica2.get("shop.test", roots)
	if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(body, "the shop") {
		t.Fatalf("second replica: %v %v %q", err, res, body)
	}
	if got := res.TLS.PeerCertificates[0].SerialNumber; got.Cmp(serial) != 0 {
		t.Errorf("second replica served certificate %s, want the first's %s", got, serial)
	}
	if n := acme.orders(); n != 1 {
		t.Fatalf("Pebble received %d orders after the second replica's request, want 1", n)
	}
	// Still no certificate for the pending domain, even now that another has one.
	if _, _, err := replica2.get("pending.test", roots); err == nil || acme.orders() != 1 {
		t.Fatalf("pending.test over HTTPS: %v, %d orders", err, acme.orders())
	}

	// A replica that answers only TLS-ALPN-01 gets a certificate for a second domain.
	replica1.stop()
	replica3 := startTLSReplica(t, e, acme, listenOn(t, replica1.http), listenOn(t, replica1.https), "tls-alpn-01")
	var www api.Domain
	if code := e.do("POST", "/api/projects/shop/domains", map[string]string{"domain": "www.shop.test"}, &www); code != http.StatusCreated {
		t.Fatalf("add www.shop.test = %d", code)
	}
	acme.setTXT("_skydeploy-challenge.www.shop.test", www.Records[0].Value)
	// No manual verify this time: the workflow's own backoff finds the record.
	for deadline := time.Now().Add(30 * time.Second); www.Status != api.DomainVerified && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		e.do("GET", "/api/projects/shop/domains/www.shop.test", nil, &www)
	}
	if www.Status != api.DomainVerified {
		t.Fatalf("www.shop.test not verified: %+v", www)
	}
	if res, body, err := replica3.get("www.shop.test", roots); err != nil || res.StatusCode != http.StatusOK || !strings.Contains(body, "the shop") {
		t.Fatalf("https://www.shop.test/ over TLS-ALPN-01: %v %v %q", err, res, body)
	}
	if n := acme.orders(); n != 2 {
		t.Fatalf("Pebble received %d orders, want 2", n)
	}

	// Removing the domain stops serving it within the alias TTL, on every replica.
	if code := e.do("DELETE", "/api/projects/shop/domains/shop.test", nil, nil); code != http.StatusNoContent {
		t.Fatalf("remove = %d", code)
	}
	time.Sleep(3 * e.cfg.AliasTTL)
	for i, r := range []*tlsReplica{replica3, replica2} {
		if res, _, err := r.get("shop.test", roots); err == nil {
			t.Errorf("replica %d still serves the removed domain over HTTPS: %d", i+1, res.StatusCode)
		}
	}
	if res, _ := e.fetchSite("shop.test", "/"); res.StatusCode != http.StatusNotFound {
		t.Errorf("HTTP for the removed domain = %d, want 404", res.StatusCode)
	}
	var list api.DomainList
	if code := e.do("GET", "/api/projects/shop/domains", nil, &list); code != http.StatusOK || len(list.Domains) != 2 ||
		list.Domains[0].Domain != "pending.test" || list.Domains[1].Domain != "www.shop.test" {
		t.Fatalf("domains after removal = %d %+v", code, list)
	}
	// Now it is free for another project.
	if code := e.do("POST", "/api/projects/other/domains", map[string]string{"domain": "shop.test"}, nil); code != http.StatusCreated {
		t.Errorf("adding the removed domain to another project = %d", code)
	}
	if n := acme.orders(); n != 2 {
		t.Errorf("Pebble received %d orders in all, want 2", n)
	}
	// Deleting a project removes its domains.
	if code := e.do("DELETE", "/api/projects/shop", nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete project = %d", code)
	}
	if code := e.do("POST", "/api/projects/other/domains", map[string]string{"domain": "www.shop.test"}, nil); code != http.StatusCreated {
		t.Errorf("a deleted project's domain is still claimed: adding it elsewhere = %d", code)
	}
}
