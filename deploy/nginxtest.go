// Package deploy holds SkyDeploy's deployment files (Dockerfile and temporal-compose.yml at the
// repository root, nginx, systemd and Temporal setup files here) and the tests that keep them
// honest. Its only Go API is StartNginx, a test helper that runs the real nginx configuration
// in front of test servers, for this package's tests and for end-to-end tests elsewhere. It must
// never import a SkyDeploy role package: the files it checks run the roles as processes.
package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NginxOptions configure StartNginx.
type NginxOptions struct {
	// APIHost is the dashboard/API host name (default "deploy.test").
	APIHost string
	// SitesDomain is the base domain of deployed sites (default "sites.test").
	SitesDomain string
	// GatewayAddr and ServeAddr are the host:port of the gateway and of the request handler
	// nginx proxies to. Both are required.
	GatewayAddr string
	ServeAddr   string
	// Dir receives the rendered configuration, certificate, logs and temp files (default: a
	// new t.TempDir()).
	Dir string
}

// Nginx is a running nginx started by StartNginxServer.
type Nginx struct {
	HTTPPort  int
	HTTPSPort int
	// Dir is nginx's prefix: nginx.conf, skydeploy.conf, cert.pem, key.pem, logs/.
	Dir string
	// CertPool trusts the generated certificate (valid for APIHost and *.SitesDomain).
	CertPool *x509.CertPool
}

// Client returns an HTTP client that trusts n's certificate, dials every host name to
// 127.0.0.1 (the test host names need no DNS) and does not follow redirects.
func (n *Nginx) Client() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: n.CertPool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// StartNginx renders deploy/nginx.conf with deploy/render-nginx.sh onto free loopback ports and a
// generated self-signed certificate, checks it with `nginx -t`, runs nginx in the foreground
// until the test ends, and returns its HTTP and HTTPS ports. It skips the test when nginx is not
// installed.
func StartNginx(t testing.TB, o NginxOptions) (httpPort, httpsPort int) {
	t.Helper()
	n := StartNginxServer(t, o)
	return n.HTTPPort, n.HTTPSPort
}

// StartNginxServer is StartNginx returning everything a client needs.
func StartNginxServer(t testing.TB, o NginxOptions) *Nginx {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, statErr := os.Stat(p); statErr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		t.Skip("nginx is not installed")
	}
	if o.GatewayAddr == "" || o.ServeAddr == "" {
		t.Fatal("StartNginx: GatewayAddr and ServeAddr are required")
	}
	if o.APIHost == "" {
		o.APIHost = "deploy.test"
	}
	if o.SitesDomain == "" {
		o.SitesDomain = "sites.test"
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	// nginx's worker processes run as an unprivileged user when the test runs as root: they must
	// be able to reach the temp directories under the prefix.
	if os.Geteuid() == 0 {
		tmp := filepath.Clean(os.TempDir())
		for d := filepath.Clean(o.Dir); strings.HasPrefix(d, tmp+"/"); d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o755)
		}
	}
	certFile, keyFile := filepath.Join(o.Dir, "cert.pem"), filepath.Join(o.Dir, "key.pem")
	pool, err := writeSelfSigned(certFile, keyFile, []string{o.APIHost, "*." + o.SitesDomain})
	if err != nil {
		t.Fatalf("StartNginx: certificate: %v", err)
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("StartNginx: free ports: %v", err)
		}
		n := &Nginx{HTTPPort: ports[0], HTTPSPort: ports[1], Dir: o.Dir, CertPool: pool}
		if err := renderNginx(o, n, certFile, keyFile); err != nil {
			t.Fatalf("StartNginx: %v", err)
		}
		conf := filepath.Join(o.Dir, "nginx.conf")
		args := []string{"-p", o.Dir + "/", "-c", conf, "-e", "logs/error.log"}
		if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
			t.Fatalf("StartNginx: nginx -t: %v\n%s", err, out)
		}
		cmd := exec.Command(bin, append(args, "-g", "daemon off;")...)
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("StartNginx: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitListening(n, exited); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			lastErr = fmt.Errorf("%v\n%s\n%s", err, stderr.String(), readLog(o.Dir))
			continue // most likely a port taken between freePorts and nginx's bind: try others
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful shutdown
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
			if t.Failed() {
				t.Logf("nginx error log:\n%s", readLog(o.Dir))
			}
		})
		return n
	}
	t.Fatalf("StartNginx: nginx did not start: %v", lastErr)
	return nil
}

// deployDir is the directory of this source file, where render-nginx.sh and the templates are.
func deployDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the deploy directory")
	}
	return filepath.Dir(file), nil
}

func renderNginx(o NginxOptions, n *Nginx, certFile, keyFile string) error {
	dir, err := deployDir()
	if err != nil {
		return err
	}
	cmd := exec.Command("sh", filepath.Join(dir, "render-nginx.sh"), o.Dir)
	cmd.Env = append(os.Environ(),
		"API_HOST="+o.APIHost,
		"SITES_DOMAIN="+o.SitesDomain,
		"GATEWAY_UPSTREAM="+o.GatewayAddr,
		"SERVE_UPSTREAM="+o.ServeAddr,
		fmt.Sprintf("LISTEN_HTTP=127.0.0.1:%d", n.HTTPPort),
		fmt.Sprintf("LISTEN_HTTPS=127.0.0.1:%d", n.HTTPSPort),
		"CERT="+certFile, "KEY="+keyFile,
		"SITES_CERT="+certFile, "SITES_KEY="+keyFile,
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("render-nginx.sh: %v\n%s", err, out)
	}
	return nil
}

func waitListening(n *Nginx, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("nginx exited: %v", err)
		default:
		}
		ok := true
		for _, p := range []int{n.HTTPPort, n.HTTPSPort} {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond)
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nginx is not listening on %d and %d after 10s", n.HTTPPort, n.HTTPSPort)
}

func readLog(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
	return string(b)
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeSelfSigned writes a self-signed ECDSA certificate for names and returns a pool trusting it.
func writeSelfSigned(certFile, keyFile string, names []string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}
