package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileRequestsToSites sends the request handler what attackers send: traversal in many
// encodings, forged hosts, huge headers and a slowloris client.
func TestHostileRequestsToSites(t *testing.T) {
	if testing.Short() {
		t.Skip("abuse test")
	}
	e := startEnv(t, nil)
	repo := e.git.NewRepo(t, "target", map[string]string{"index.html": "<h1>target</h1>", "sub/page.html": "sub"})
	id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
	if d := e.wait(id, time.Minute); d.State != "succeeded" {
		t.Fatalf("%s: %s", d.State, d.Error)
	}
	host := id + ".localhost"

	raw := func(request string) string {
		conn, err := net.DialTimeout("tcp", e.sites, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, request)
		status, _ := bufio.NewReader(conn).ReadString('\n')
		return strings.TrimSpace(status)
	}
	for _, p := range []string{
		"/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/sub/..%2f..%2f..%2fetc/passwd", "/..%5c..%5cetc%5cpasswd",
		"/%252e%252e/etc/passwd", "/sub/%00.html", "/.%2e/deployments/" + id + "/manifest.json", "/" + strings.Repeat("a/", 1000),
		"/..;/etc/passwd", "/%c0%ae%c0%ae/etc/passwd",
	} {
		status := raw("GET " + p + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
		if strings.Contains(status, " 200 ") || status == "" {
			t.Errorf("GET %s = %q, want a 4xx", p, status)
		}
		hostileRejected("path " + p)
	}

	// Forged hosts never reach another site, and X-Forwarded-Host is not trusted.
	for _, h := range []string{"evil.example.com", "localhost", "a." + host, host + ".evil.com", "deployments.localhost", "", "bad host.localhost"} {
		req := "GET / HTTP/1.1\r\nHost: " + h + "\r\nX-Forwarded-Host: " + host + "\r\nConnection: close\r\n\r\n"
		if status := raw(req); strings.Contains(status, " 200 ") {
			t.Errorf("Host %q with X-Forwarded-Host = %q, want no site", h, status)
		}
		hostileRejected("Host " + h)
	}

	// Huge headers are refused.
	if status := raw("GET / HTTP/1.1\r\nHost: " + host + "\r\nX-Big: " + strings.Repeat("x", 64<<10) + "\r\nConnection: close\r\n\r\n"); !strings.Contains(status, " 431 ") && !strings.Contains(status, " 400 ") {
		t.Errorf("64 KiB header = %q, want 431", status)
	}
	hostileRejected("64 KiB request header")

	// A slowloris client that never finishes its headers is disconnected.
	conn, err := net.Dial("tcp", e.sites)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n", host)
	begin := time.Now()
	closed := make(chan struct{})
	go func() {
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				close(closed)
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-closed:
			done = true
		case <-tick.C:
			if time.Since(begin) > 30*time.Second {
				t.Fatalf("a client trickling headers was kept for %s", time.Since(begin))
			}
			fmt.Fprintf(conn, "X-Slow-%d: x\r\n", time.Now().UnixNano())
		}
	}
	t.Logf("slowloris client disconnected after %s", time.Since(begin).Round(100*time.Millisecond))
	hostileRejected("slowloris client")

	// The site itself still answers.
	if res, body := e.fetchSite(host, "/"); res.StatusCode != http.StatusOK || !strings.Contains(string(body), "target") {
		t.Errorf("after the abuse GET / = %d", res.StatusCode)
	}
}
