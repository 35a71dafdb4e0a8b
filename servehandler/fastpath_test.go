package servehandler

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseHead(t *testing.T) {
	const host = "Host: a.localhost\r\n"
	tests := []struct {
		name, head string
		verdict    int
		target     string
	}{
		{"plain GET", "GET /app.js HTTP/1.1\r\n" + host + "\r\n", headFast, "/app.js"},
		{"HEAD with query", "HEAD /a/b-c_d~e.txt?v=1&x=%20 HTTP/1.1\r\n" + host + "\r\n", headFast, "/a/b-c_d~e.txt"},
		{"browser headers", "GET / HTTP/1.1\r\n" + host + "User-Agent: Mozilla/5.0 (X11)\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: a=b\r\nConnection: keep-alive\r\n\r\n", headFast, "/"},
		{"incomplete", "GET / HTTP/1.1\r\n" + host, headIncomplete, ""},
		{"bare LF", "GET / HTTP/1.1\n" + host + "\n", headOff, ""},
		{"bare LF, incomplete", "GET / HTTP/1.1\nHost: a", headOff, ""},
		{"POST", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc", headOff, ""},
		{"lower-case method", "get / HTTP/1.1\r\n" + host + "\r\n", headOff, ""},
		{"Content-Length on GET", "GET / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", headOff, ""},
		{"Transfer-Encoding", "GET / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n", headOff, ""},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: 1\r\n  2\r\n\r\n", headOff, ""},
		{"space before colon", "GET / HTTP/1.1\r\n" + host + "X-A : 1\r\n\r\n", headOff, ""},
		{"control character", "GET / HTTP/1.1\r\n" + host + "X-A: \x01\r\n\r\n", headOff, ""},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n" + host + "\r\n", headPass, ""},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", headPass, ""},
		{"two Hosts", "GET / HTTP/1.1\r\n" + host + host + "\r\n", headPass, ""},
		{"Range", "GET / HTTP/1.1\r\n" + host + "Range: bytes=0-1\r\n\r\n", headPass, ""},
		{"If-None-Match", "GET / HTTP/1.1\r\n" + host + "If-None-Match: \"x\"\r\n\r\n", headPass, ""},
		{"Connection: close", "GET / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", headPass, ""},
		{"percent-encoding", "GET /a%2e%2e/b HTTP/1.1\r\n" + host + "\r\n", headPass, ""},
		{"dot segments", "GET /a/../b HTTP/1.1\r\n" + host + "\r\n", headFast, "/a/../b"}, // cleanPath refuses it in serveFast
		{"absolute form", "GET http://a.localhost/ HTTP/1.1\r\n" + host + "\r\n", headPass, ""},
		{"backslash", "GET /a\\b HTTP/1.1\r\n" + host + "\r\n", headPass, ""},
		{"fragment in query", "GET /a?b#c HTTP/1.1\r\n" + host + "\r\n", headPass, ""},
		{"no version", "GET /\r\n" + host + "\r\n", headOff, ""},
		{"five Accept-Encodings", "GET / HTTP/1.1\r\n" + host + strings.Repeat("Accept-Encoding: br\r\n", 5) + "\r\n", headPass, ""},
		{"too long", "GET / HTTP/1.1\r\n" + host + "X-A: " + strings.Repeat("a", maxHeadBytes), headOff, ""},
	}
	for _, tt := range tests {
		var fr fastReq
		n, verdict := parseHead([]byte(tt.head+"GET /next"), &fr)
		if verdict != tt.verdict {
			t.Errorf("%s: verdict %d, want %d", tt.name, verdict, tt.verdict)
			continue
		}
		if verdict == headFast || verdict == headPass {
			if want := strings.Index(tt.head, "\r\n\r\n") + 4; n != want {
				t.Errorf("%s: head length %d, want %d", tt.name, n, want)
			}
		}
		if verdict == headFast && (string(fr.target) != tt.target || string(fr.host) != "a.localhost") {
			t.Errorf("%s: target %q host %q", tt.name, fr.target, fr.host)
		}
	}
}

// rawConn is a client speaking HTTP/1.1 over one connection, to check what the fast lane
// and net/http answer in turn.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, base string) *rawConn {
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) read(method string) (*http.Response, string) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp, string(b)
}

// TestFastLaneAnswersLikeNetHTTP: the same request answered by net/http (first, when nothing
// is cached) and by the fast lane (then) gives the same status, headers and body; pipelined
// requests are answered in order whichever of the two answers each.
func TestFastLaneAnswersLikeNetHTTP(t *testing.T) {
	store := newFakeStore()
	big := string(randomBytes(10, 64<<10))
	store.publish(dep1, false, map[string]string{
		"index.html": "<h1>home</h1>", "app.3f2a1c9b.js": strings.Repeat("js;", 2000), "big.bin": big,
		"_headers": "/app.*\n  X-Custom: yes\n",
	}, "app.3f2a1c9b.js")
	store.setAlias("blog", dep1)
	h := newTestHandler(t, store, Options{})
	base := serveReal(t, h)
	rc := dialRaw(t, base)
	get := func(path, extra string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: blog.localhost\r\n" + extra + "\r\n"
	}
	for _, tc := range []struct{ path, ae string }{
		{"/", ""}, {"/app.3f2a1c9b.js", "gzip, br"}, {"/app.3f2a1c9b.js", ""}, {"/big.bin", ""},
	} {
		extra := ""
		if tc.ae != "" {
			extra = "Accept-Encoding: " + tc.ae + "\r\n"
		}
		var answers [2]*http.Response
		var bodies [2]string
		for i := range 2 { // net/http fills the caches, then the lane answers
			rc.send(get(tc.path, extra))
			answers[i], bodies[i] = rc.read("GET")
		}
		// The same request through net/http's header map, without a wrapped connection.
		w := get2(h, "blog.localhost", tc.path, "Accept-Encoding", tc.ae)
		for i, resp := range answers {
			if resp.StatusCode != 200 || bodies[i] != w.Body.String() {
				t.Errorf("%s, answer %d: %d, %d bytes; want %d bytes", tc.path, i, resp.StatusCode, len(bodies[i]), w.Body.Len())
			}
			if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
				t.Errorf("%s: Date %q", tc.path, resp.Header.Get("Date"))
			}
			resp.Header.Del("Date")
			if !equalHeaders(resp.Header, w.Header()) {
				t.Errorf("%s, answer %d: %v, net/http's header map: %v", tc.path, i, resp.Header, w.Header())
			}
		}
	}

	if n := fastAnswers(t, h); n != 4 {
		t.Errorf("the fast lane answered %v requests, want 4", n)
	}

	// Pipelined: lane, net/http (a range), lane, HEAD, net/http (404), lane.
	rc.send(get("/", "") + get("/big.bin", "Range: bytes=10-19\r\n") + get("/big.bin", "") +
		"HEAD /big.bin HTTP/1.1\r\nHost: blog.localhost\r\n\r\n" + get("/nope", "") + get("/", ""))
	want := []struct {
		method string
		status int
		body   string
	}{{"GET", 200, "<h1>home</h1>"}, {"GET", 206, big[10:20]}, {"GET", 200, big}, {"HEAD", 200, ""}, {"GET", 404, ""}, {"GET", 200, "<h1>home</h1>"}}
	for i, w := range want {
		resp, body := rc.read(w.method)
		if resp.StatusCode != w.status || (w.body != "" && body != w.body) {
			t.Errorf("pipelined %d: %d, %d bytes; want %d, %d bytes", i, resp.StatusCode, len(body), w.status, len(w.body))
		}
		if w.method == "HEAD" && resp.ContentLength != int64(len(big)) {
			t.Errorf("HEAD Content-Length %d", resp.ContentLength)
		}
	}

	if n := fastAnswers(t, h); n != 8 {
		t.Errorf("the fast lane answered %v requests, want 8", n)
	}

	// Many pipelined requests at once, more than the read buffer holds.
	var many strings.Builder
	for i := range 300 {
		many.WriteString(get("/", "X-Pad: "+strings.Repeat("p", i%50)+"\r\n"))
	}
	rc.send(many.String())
	for i := range 300 {
		if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "<h1>home</h1>" {
			t.Fatalf("pipelined %d of 300: %d %q", i, resp.StatusCode, body)
		}
	}
	if n := fastAnswers(t, h); n != 308 {
		t.Errorf("the fast lane answered %v requests, want 308", n)
	}

	// A request with a body turns the lane off for the connection; all is still answered.
	rc.send("POST / HTTP/1.1\r\nHost: blog.localhost\r\nContent-Length: 5\r\n\r\nhello" + get("/", ""))
	if resp, _ := rc.read("POST"); resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "<h1>home</h1>" {
		t.Errorf("after POST: %d %q", resp.StatusCode, body)
	}
}

// get2 is get with an Accept-Encoding header only when ae is set.
func get2(h http.Handler, host, target, name, value string) *httptest.ResponseRecorder {
	if value == "" {
		return get(h, host, target)
	}
	return get(h, host, target, name, value)
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestFastLaneKeepsTimeouts: a request head trickled in is cut after ReadHeaderTimeout from
// its first byte, as net/http does, even after the lane answered requests on the connection.
func TestFastLaneKeepsTimeouts(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for ReadHeaderTimeout")
	}
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "home"})
	h := newTestHandler(t, store, Options{})
	rc := dialRaw(t, serveReal(t, h))
	for range 2 {
		rc.send("GET / HTTP/1.1\r\nHost: " + dep1 + ".localhost\r\n\r\n")
		if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "home" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
	start := time.Now()
	rc.send("GET / HTTP/1.1\r\nHost: ")
	_ = rc.c.SetReadDeadline(time.Now().Add(ReadHeaderTimeout + 5*time.Second))
	n, err := rc.br.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if d := time.Since(start); d < ReadHeaderTimeout-time.Second || d > ReadHeaderTimeout+2*time.Second {
		t.Errorf("closed after %v, want about %v", d, ReadHeaderTimeout)
	}
}

// fastAnswers reads skydeploy_serve_fast_requests_total from the handler's registry.
func fastAnswers(t *testing.T, h *Handler) float64 {
	t.Helper()
	mfs, err := h.gather.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "skydeploy_serve_fast_requests_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no skydeploy_serve_fast_requests_total")
	return 0
}
