package deploy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is an http.Server on a loopback port standing in for the gateway or the request
// handler; it records the last request's headers.
type upstream struct {
	name string
	addr string
	mu   sync.Mutex
	last http.Header
	host string
}

func startUpstream(t *testing.T, name string, extra func(mux *http.ServeMux)) *upstream {
	t.Helper()
	u := &upstream{name: name}
	mux := http.NewServeMux()
	if extra != nil {
		extra(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.last, u.host = r.Header.Clone(), r.Host
		u.mu.Unlock()
		w.Header().Set("X-Upstream", u.name)
		fmt.Fprintf(w, "%s %s %s", u.name, r.Method, r.URL.Path)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	u.addr = l.Addr().String()
	return u
}

func (u *upstream) lastRequest() (http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.host
}

func TestNginxRouting(t *testing.T) {
	sseRelease := make(chan struct{})
	gateway := startUpstream(t, "gateway", func(mux *http.ServeMux) {
		// A log stream: one event, then silence until the test has seen it.
		mux.HandleFunc("/api/deployments/abc123/logs", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			fmt.Fprint(w, "data: first line\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-sseRelease:
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Second):
			}
			fmt.Fprint(w, "data: last line\n\n")
		})
	})
	serve := startUpstream(t, "serve", nil)
	ng := StartNginxServer(t, NginxOptions{GatewayAddr: gateway.addr, ServeAddr: serve.addr})
	client := ng.Client()
	https := func(host, path string) string { return fmt.Sprintf("https://%s:%d%s", host, ng.HTTPSPort, path) }

	get := func(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	t.Run("sites go to the request handler", func(t *testing.T) {
		res, body := get(t, https("d1a2b3.sites.test", "/index.html"), map[string]string{"X-Forwarded-For": "203.0.113.9"})
		if res.StatusCode != 200 || body != "serve GET /index.html" {
			t.Fatalf("got %d %q, want the request handler's answer", res.StatusCode, body)
		}
		if res.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", res.Proto)
		}
		if res.Header.Get("Server") != "nginx" {
			t.Errorf("Server header %q: server_tokens must hide the version", res.Header.Get("Server"))
		}
		h, host := serve.lastRequest()
		if host != "d1a2b3.sites.test" {
			t.Errorf("upstream Host %q, want the site's host passed through", host)
		}
		if got := h.Get("X-Forwarded-For"); got != "203.0.113.9, 127.0.0.1" {
			t.Errorf("X-Forwarded-For %q, want the client's list with nginx's peer appended", got)
		}
		if got := h.Get("X-Real-IP"); got != "127.0.0.1" {
			t.Errorf("X-Real-IP %q", got)
		}
		if got := h.Get("X-Forwarded-Proto"); got != "https" {
			t.Errorf("X-Forwarded-Proto %q", got)
		}
	})

	t.Run("the API host goes to the gateway", func(t *testing.T) {
		res, body := get(t, https("deploy.test", "/api/projects"), nil)
		if res.StatusCode != 200 || body != "gateway GET /api/projects" {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		h, host := gateway.lastRequest()
		if host != "deploy.test" || h.Get("X-Forwarded-For") != "127.0.0.1" {
			t.Errorf("Host %q, X-Forwarded-For %q", host, h.Get("X-Forwarded-For"))
		}
		if res.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS header")
		}
		res, body = get(t, https("deploy.test", "/"), nil)
		if res.StatusCode != 200 || body != "gateway GET /" {
			t.Fatalf("dashboard: got %d %q", res.StatusCode, body)
		}
		res, _ = get(t, https("deploy.test", "/metrics"), nil)
		if res.StatusCode != 404 {
			t.Errorf("/metrics is public: %d", res.StatusCode)
		}
	})

	t.Run("unknown hosts are refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, https("evil.test", "/"), nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("HTTPS for an unknown name answered %d, want a refused handshake", res.StatusCode)
		}
		req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("http://evil.test:%d/", ng.HTTPPort), nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("HTTP for an unknown name answered %d, want the connection closed", res.StatusCode)
		}
		req, _ = http.NewRequest(http.MethodGet, https("a.b.sites.test", "/"), nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("a nested site name answered %d", res.StatusCode)
		}
	})

	t.Run("HTTP redirects to HTTPS", func(t *testing.T) {
		for _, host := range []string{"deploy.test", "p1.sites.test"} {
			res, _ := get(t, fmt.Sprintf("http://%s:%d/some/path?q=1", host, ng.HTTPPort), nil)
			want := fmt.Sprintf("https://%s:%d/some/path?q=1", host, ng.HTTPSPort)
			if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
				t.Errorf("%s: got %d Location %q, want 301 to %s", host, res.StatusCode, res.Header.Get("Location"), want)
			}
		}
	})

	t.Run("log streams are not buffered", func(t *testing.T) {
		defer func() {
			select {
			case <-sseRelease:
			default:
				close(sseRelease)
			}
		}()
		req, _ := http.NewRequest(http.MethodGet, https("deploy.test", "/api/deployments/abc123/logs"), nil)
		req.Header.Set("Accept", "text/event-stream")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		lines := make(chan string, 10)
		go func() {
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		select {
		case l := <-lines:
			if l != "data: first line" {
				t.Fatalf("first line %q", l)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the first event did not arrive while the upstream was still writing: nginx buffers the stream")
		}
		close(sseRelease)
		var rest []string
		for l := range lines {
			rest = append(rest, l)
		}
		if !strings.Contains(strings.Join(rest, "\n"), "data: last line") {
			t.Fatalf("rest of the stream %q", rest)
		}
	})

	t.Run("starting deployments is rate limited", func(t *testing.T) {
		limited := false
		for i := 0; i < 30 && !limited; i++ {
			req, _ := http.NewRequest(http.MethodPost, https("deploy.test", "/api/deployments"), strings.NewReader(`{}`))
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			limited = res.StatusCode == http.StatusTooManyRequests
		}
		if !limited {
			t.Fatal("30 POSTs at once were never answered 429")
		}
		// Reading is not limited by the deployment zone.
		res, _ := get(t, https("deploy.test", "/api/deployments"), nil)
		if res.StatusCode != 200 {
			t.Fatalf("GET /api/deployments after the POSTs: %d", res.StatusCode)
		}
	})

	t.Run("uploaded contents may be large", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, https("deploy.test", "/api/uploads/u1/contents/ab"), strings.NewReader(strings.Repeat("x", 8<<20)))
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != "gateway PUT /api/uploads/u1/contents/ab" {
			t.Fatalf("8 MiB content: %d %q, want the gateway's answer", res.StatusCode, body)
		}
	})

	t.Run("API bodies are capped at 1 MiB", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, https("deploy.test", "/api/projects/p"), strings.NewReader(strings.Repeat("x", 2<<20)))
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("2 MiB body: %d, want 413", res.StatusCode)
		}
	})
}

// TestNginxLogStreamSettings pins what the behavioural test above cannot observe quickly: nginx
// already passes small flushed chunks on with buffering on, but it would still gzip or cut a
// quiet stream after the default 60 s read timeout.
func TestNginxLogStreamSettings(t *testing.T) {
	dir, err := deployDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "nginx-skydeploy.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	start := strings.Index(conf, "location ~ ^/api/deployments/[^/]+/logs$ {")
	if start < 0 {
		t.Fatal("no location for /api/deployments/<id>/logs")
	}
	block := conf[start : start+strings.Index(conf[start:], "}")]
	for _, want := range []string{"proxy_buffering off;", "proxy_cache off;", "gzip off;", "proxy_read_timeout 1h;"} {
		if !strings.Contains(block, want) {
			t.Errorf("log stream location lacks %q", want)
		}
	}
}
