package servehandler

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/storage"
)

// serveReal serves h on a real TCP listener through Serve, so responses take the wrapped
// connection's paths (writev, sendfile); it returns the base URL.
func serveReal(t *testing.T, h *Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, h, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

type fetcher struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newFetcher(t *testing.T, base string) *fetcher {
	return &fetcher{t: t, base: base, client: &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}}}
}

// get fetches path from host; reused tells whether a kept-alive connection carried it.
func (f *fetcher) get(method, host, path string, hdr ...string) (resp *http.Response, body []byte, reused bool) {
	f.t.Helper()
	resp, body, reused, err := f.try(method, host, path, hdr...)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, body, reused
}

// try is get for other goroutines than the test's: it returns errors.
func (f *fetcher) try(method, host, path string, hdr ...string) (resp *http.Response, body []byte, reused bool, err error) {
	req, _ := http.NewRequest(method, f.base+path, nil)
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused },
	}))
	resp, err = f.client.Do(req)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	return resp, body, reused, nil
}

// TestBodiesOverARealConnection sends every kind of body (small and larger ones from
// memory, files from the disk cache) over one kept-alive connection: the held header block
// and the body must arrive intact, in order, with the connection reused each time.
func TestBodiesOverARealConnection(t *testing.T) {
	store := newFakeStore()
	files := map[string]string{
		"index.html":                 "<h1>small</h1>",
		"assets/mid.3f2a1c9b.js":     string(randomBytes(1, 5000)),
		"assets/big.8d7e6f5a.js":     string(randomBytes(2, 150<<10)),
		"assets/huge.5b6c7d8e.js":    string(randomBytes(3, 5<<20)),
		"assets/styles.1a2b3c4d.css": strings.Repeat("body{color:red}\n", 4000),
	}
	store.publish(dep1, false, files, "assets/styles.1a2b3c4d.css")
	h := newTestHandler(t, store, Options{})
	f := newFetcher(t, serveReal(t, h))
	host := dep1 + ".localhost"
	for round := range 3 {
		for p, want := range files {
			path := "/" + strings.TrimSuffix(p, "index.html")
			resp, body, reused := f.get("GET", host, path)
			if resp.StatusCode != 200 || !bytes.Equal(body, []byte(want)) {
				t.Fatalf("round %d %s: %d, %d bytes, want %d", round, p, resp.StatusCode, len(body), len(want))
			}
			if resp.Header.Get("Content-Length") != strconv.Itoa(len(want)) || resp.Header.Get("ETag") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: headers %v", p, resp.Header)
			}
			if round > 0 && !reused {
				t.Errorf("round %d %s: the connection was not kept alive", round, p)
			}
		}
		// The compressed variant of a large file comes from the disk cache too.
		resp, body, _ := f.get("GET", host, "/assets/styles.1a2b3c4d.css", "Accept-Encoding", "br")
		if resp.Header.Get("Content-Encoding") != "br" || string(body) != "BR:"+files["assets/styles.1a2b3c4d.css"] {
			t.Fatalf("br variant: %v, %d bytes", resp.Header, len(body))
		}
		resp, body, _ = f.get("HEAD", host, "/assets/big.8d7e6f5a.js")
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 150<<10 {
			t.Fatalf("HEAD: %d %d", resp.StatusCode, resp.ContentLength)
		}
		resp, body, _ = f.get("GET", host, "/assets/big.8d7e6f5a.js", "Range", "bytes=1000-1999")
		if resp.StatusCode != 206 || !bytes.Equal(body, []byte(files["assets/big.8d7e6f5a.js"][1000:2000])) {
			t.Fatalf("range from the disk cache: %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	// Every file was read from storage once, whatever served it afterwards.
	for _, k := range store.keysRead() {
		if strings.HasPrefix(k, storage.BlobsPrefix) && store.readCount(k) != 1 {
			t.Errorf("%s read %d times", k, store.readCount(k))
		}
	}
	if n, used := h.disk.stats(); n != 4 || used != int64(150<<10+5<<20+2*(len(files["assets/styles.1a2b3c4d.css"]))+3) {
		t.Errorf("disk cache holds %d files, %d bytes", n, used)
	}
}

// TestDiskCacheSurvivesDeletion deletes the cache folder again and again while requests are
// served: every response stays complete, files already cached are not read from storage
// again, and a new file makes the folder again.
func TestDiskCacheSurvivesDeletion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	store := newFakeStore()
	a, b, c := randomBytes(4, 300<<10), randomBytes(5, 200<<10), randomBytes(6, 100<<10)
	m := store.publish(dep1, false, map[string]string{"a.bin": string(a), "b.bin": string(b), "c.bin": string(c)})
	h := newTestHandler(t, store, Options{DiskCacheDir: dir})
	f := newFetcher(t, serveReal(t, h))
	host := dep1 + ".localhost"
	if resp, body, _ := f.get("GET", host, "/a.bin"); resp.StatusCode != 200 || !bytes.Equal(body, a) {
		t.Fatalf("a.bin: %d", resp.StatusCode)
	}
	keyOf := func(p string) string {
		for _, mf := range m.Files {
			if mf.Path == p {
				return storage.BlobKey(mf.SHA256)
			}
		}
		t.Fatalf("no %s", p)
		return ""
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "run-*", diskName(keyOf("a.bin"))))
	if len(runs) != 1 {
		t.Fatalf("a.bin is not in the cache folder: %v", runs)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				p, want := "/a.bin", a
				if (w+i)%2 == 1 {
					p, want = "/b.bin", b
				}
				resp, body, _, err := f.try("GET", host, p)
				if err != nil {
					errs <- err
					return
				}
				if resp.StatusCode != 200 || !bytes.Equal(body, want) {
					errs <- fmt.Errorf("%s: %d, %d bytes", p, resp.StatusCode, len(body))
					return
				}
			}
		}()
	}
	for range 10 {
		// RemoveAll fails now and then with "directory not empty" when a fill adds a file
		// meanwhile; the next one gets it.
		os.RemoveAll(dir)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	os.RemoveAll(dir)
	if resp, body, _ := f.get("GET", host, "/c.bin"); resp.StatusCode != 200 || !bytes.Equal(body, c) {
		t.Fatalf("c.bin after deletion: %d", resp.StatusCode)
	}
	if got, _ := filepath.Glob(filepath.Join(dir, "run-*", diskName(keyOf("c.bin")))); len(got) != 1 {
		t.Errorf("the cache folder was not made again: %v", got)
	}
	if resp, body, _ := f.get("GET", host, "/a.bin", "Range", "bytes=-10"); resp.StatusCode != 206 || !bytes.Equal(body, a[len(a)-10:]) {
		t.Errorf("range of a deleted cached file: %d", resp.StatusCode)
	}
	for _, p := range []string{"a.bin", "b.bin", "c.bin"} {
		if n := store.readCount(keyOf(p)); n != 1 {
			t.Errorf("%s read from storage %d times", p, n)
		}
	}
}

func TestDiskCacheEvictsAndClosesAfterUse(t *testing.T) {
	d := newDiskCache(t.TempDir(), 8*100)
	put := func(key string) *diskEntry {
		t.Helper()
		e, err := d.fill(key, 100, func(w io.Writer) error {
			_, err := w.Write(bytes.Repeat([]byte(key[len(key)-1:]), 100))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := put("blobs/a")
	if !d.acquireEntry(first) {
		t.Fatal("a new entry is gone")
	}
	for _, k := range []string{"b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		put("blobs/" + k)
	}
	if n, used := d.stats(); n != 8 || used != 800 {
		t.Errorf("%d entries, %d bytes, want 8 and 800", n, used)
	}
	if d.acquire("blobs/a") != nil || !first.gone {
		t.Fatal("the least recently used entry stayed")
	}
	if _, err := os.Stat(first.path); !os.IsNotExist(err) {
		t.Errorf("evicted file still on disk: %v", err)
	}
	// Still in use: readable until released, closed after.
	buf := make([]byte, 100)
	if _, err := first.f.ReadAt(buf, 0); err != nil || buf[0] != 'a' {
		t.Fatalf("evicted entry in use: %v %q", err, buf[:1])
	}
	d.release(first)
	if _, err := first.f.ReadAt(buf, 0); err == nil {
		t.Error("evicted entry still open after its last release")
	}
	if got, _ := filepath.Glob(filepath.Join(d.run, "[a-z]")); len(got) != 8 {
		t.Errorf("%d files in the run directory, want 8: %v", len(got), got)
	}
}

func TestDiskCacheRemovesRunsOfGoneProcesses(t *testing.T) {
	dir := t.TempDir()
	fill := func(d *diskCache) {
		t.Helper()
		if _, err := d.fill("blobs/x", 1, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }); err != nil {
			t.Fatal(err)
		}
	}
	stale := filepath.Join(dir, "run-stale")
	os.MkdirAll(stale, 0o700)
	os.WriteFile(filepath.Join(stale, "abc"), []byte("old"), 0o600)
	live := newDiskCache(dir, 1<<20)
	fill(live) // removes run-stale: nobody holds its lock
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale run directory kept: %v", err)
	}
	other := newDiskCache(dir, 1<<20)
	fill(other) // leaves live's directory alone: its lock is held
	if _, err := os.Stat(live.run); err != nil {
		t.Errorf("a live process's run directory was removed: %v", err)
	}
	live.lock.Close() // the process is gone
	fill(newDiskCache(dir, 1<<20))
	if _, err := os.Stat(live.run); !os.IsNotExist(err) {
		t.Errorf("run directory of a gone process kept: %v", err)
	}
	if _, err := os.Stat(other.run); err != nil {
		t.Errorf("a live process's run directory was removed: %v", err)
	}
}

// TestDiskCacheUnusableFallsBack: when the folder cannot be written, files are served from
// memory or streamed, not failed.
func TestDiskCacheUnusableFallsBack(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, []byte("not a directory"), 0o600)
	store := newFakeStore()
	big := randomBytes(7, 200<<10)
	store.publish(dep1, false, map[string]string{"big.bin": string(big)})
	h := newTestHandler(t, store, Options{DiskCacheDir: filepath.Join(blocker, "cache")})
	for range 2 {
		if w := get(h, dep1+".localhost", "/big.bin"); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), big) {
			t.Fatalf("with an unusable disk cache: %d", w.Code)
		}
	}
}

// TestHeaderBlocksKeepConnectionSemantics: the rendered header blocks carry the Date, and
// the Connection header net/http decides on, over raw HTTP/1.1 and HTTP/1.0 exchanges.
func TestHeaderBlocksKeepConnectionSemantics(t *testing.T) {
	store := newFakeStore()
	big := randomBytes(9, 40<<10)
	store.publish(dep1, false, map[string]string{"index.html": "<h1>home</h1>", "big.bin": string(big)})
	h := newTestHandler(t, store, Options{})
	base := serveReal(t, h)
	addr := strings.TrimPrefix(base, "http://")
	host := dep1 + ".localhost"

	for _, tc := range []struct {
		name, req  string
		wantClose  bool
		wantKeep   bool
		path, body string
	}{
		{"1.1 keep-alive", "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n", false, false, "/", "<h1>home</h1>"},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n", true, false, "/", "<h1>home</h1>"},
		{"1.0", "GET /big.bin HTTP/1.0\r\nHost: " + host + "\r\n\r\n", true, false, "/big.bin", string(big)},
		{"1.0 keep-alive", "GET /big.bin HTTP/1.0\r\nHost: " + host + "\r\nConnection: keep-alive\r\n\r\n", false, true, "/big.bin", string(big)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Twice on one connection (the second only when it stays open).
			for i := range 2 {
				if _, err := io.WriteString(c, tc.req); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				body, err := io.ReadAll(io.LimitReader(resp.Body, resp.ContentLength))
				if err != nil || string(body) != tc.body || resp.StatusCode != 200 {
					t.Fatalf("response %d: %d, %d bytes, %v", i, resp.StatusCode, len(body), err)
				}
				if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
					t.Errorf("Date %q: %v", resp.Header.Get("Date"), err)
				}
				// ReadResponse turns "Connection: close" into resp.Close.
				if got := resp.Header.Values("Connection"); tc.wantClose != resp.Close || tc.wantKeep != (len(got) == 1 && got[0] == "keep-alive") {
					t.Errorf("Connection %q, close %v", got, resp.Close)
				}
				if tc.req[strings.Index(tc.req, "HTTP/"):][:8] != resp.Proto {
					t.Errorf("protocol %s", resp.Proto)
				}
				if resp.Header.Get("Etag") == "" || resp.Header.Get("Content-Type") == "" || len(resp.Header.Values("Content-Length")) != 1 {
					t.Errorf("headers %v", resp.Header)
				}
				if tc.wantClose {
					c.SetReadDeadline(time.Now().Add(2 * time.Second))
					if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
						t.Errorf("the connection stayed open after Connection: close (%d, %v)", n, err)
					}
					return
				}
			}
		})
	}
}
