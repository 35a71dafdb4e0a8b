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

	// raw sends request as written (no client normalises it) and returns the answer's status
	// code, 0 when there is no readable status line.
	raw := func(t *testing.T, request string) int {
		conn, err := net.DialTimeout("tcp", e.sites, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, request)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		var proto string
		var code int
		if _, err := fmt.Sscanf(line, "%s %d", &proto, &code); err != nil || !strings.HasPrefix(proto, "HTTP/1.") {
			t.Logf("no status line in %q", line)
			return 0
		}
		return code
	}
	// Each path gets the exact status the request handler promises (servehandler/paths.go):
	// 400 for dot segments, encoded separators, NUL and invalid UTF-8, 414 for an over-long
	// path, and 404 for a path that is harmless once decoded but names no file.
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/../../../etc/passwd", 400},
		{"/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/sub/..%2f..%2f..%2fetc/passwd", 400},
		{"/..%5c..%5cetc%5cpasswd", 400},
		{"/%252e%252e/etc/passwd", 404}, // decodes once, to a literal "%2e%2e" segment
		{"/sub/%00.html", 400},
		{"/.%2e/deployments/" + id + "/manifest.json", 400},
		{"/" + strings.Repeat("a/", 1000), 414},
		{"/..;/etc/passwd", 404},          // "..;" is an ordinary name here, not a parent directory
		{"/%c0%ae%c0%ae/etc/passwd", 400}, // overlong UTF-8 for "..": invalid UTF-8
	} {
		name := tc.path
		if len(name) > 60 {
			name = name[:60] + "…"
		}
		t.Run("path "+name, func(t *testing.T) {
			tallyHostile(t, "path "+name)
			if got := raw(t, "GET "+tc.path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); got != tc.want {
				t.Errorf("GET %s = %d, want %d", tc.path, got, tc.want)
			}
		})
	}

	// Forged hosts never reach another site, and X-Forwarded-Host is not trusted: a host that
	// names no site is 404, a Host header that is missing or malformed is refused by net/http
	// with 400.
	for _, tc := range []struct {
		host string
		want int
	}{
		{"evil.example.com", 404},
		{"localhost", 404},
		{"a." + host, 404},
		{host + ".evil.com", 404},
		{"deployments.localhost", 404},
		{"", 404}, // an empty Host header names no site
		{"bad host.localhost", 400},
	} {
		t.Run("Host "+tc.host, func(t *testing.T) {
			tallyHostile(t, "Host "+tc.host)
			req := "GET / HTTP/1.1\r\nHost: " + tc.host + "\r\nX-Forwarded-Host: " + host + "\r\nConnection: close\r\n\r\n"
			if got := raw(t, req); got != tc.want {
				t.Errorf("Host %q with X-Forwarded-Host %s = %d, want %d", tc.host, host, got, tc.want)
			}
		})
	}
	t.Run("no Host header", func(t *testing.T) {
		tallyHostile(t, "no Host header")
		if got := raw(t, "GET / HTTP/1.1\r\nX-Forwarded-Host: "+host+"\r\nConnection: close\r\n\r\n"); got != http.StatusBadRequest {
			t.Errorf("HTTP/1.1 without Host = %d, want 400", got)
		}
	})

	t.Run("64 KiB request header", func(t *testing.T) {
		tallyHostile(t, "64 KiB request header")
		if got := raw(t, "GET / HTTP/1.1\r\nHost: "+host+"\r\nX-Big: "+strings.Repeat("x", 64<<10)+"\r\nConnection: close\r\n\r\n"); got != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("64 KiB header = %d, want 431", got)
		}
	})

	t.Run("slowloris client", func(t *testing.T) {
		tallyHostile(t, "slowloris client")
		slowloris(t, e.sites, host)
	})

	// The site itself still answers.
	if res, body := e.fetchSite(host, "/"); res.StatusCode != http.StatusOK || !strings.Contains(string(body), "target") {
		t.Errorf("after the abuse GET / = %d", res.StatusCode)
	}
}

// slowloris trickles header lines to addr and fails t unless the server disconnects it within
// 30 seconds (the request handler's header timeout is 5 s).
func slowloris(t *testing.T, addr, host string) {
	conn, err := net.Dial("tcp", addr)
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
}
