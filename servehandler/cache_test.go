package servehandler

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/storage"
)

func TestLRUEvictsByWeight(t *testing.T) {
	c := newLRU(10 * (100 + entryOverhead))
	for i := range 10 {
		c.add(cacheKey{kindBlob, string(rune('a' + i))}, i, 100)
	}
	if n, _ := c.stats(); n != 10 {
		t.Fatalf("%d entries", n)
	}
	c.get(cacheKey{kindBlob, "a"}) // a becomes the most recent; b is now the oldest
	c.add(cacheKey{kindBlob, "k"}, 10, 100)
	if _, ok := c.get(cacheKey{kindBlob, "b"}); ok {
		t.Error("b should have been evicted")
	}
	if _, ok := c.get(cacheKey{kindBlob, "a"}); !ok {
		t.Error("a was used recently and must stay")
	}
	// A heavy entry evicts as many as needed.
	c.add(cacheKey{kindBlob, "big"}, 0, 4*(100+entryOverhead))
	_, used := c.stats()
	if used > c.max {
		t.Errorf("used %d > max %d", used, c.max)
	}
	// Heavier than half the cache: not stored.
	if c.add(cacheKey{kindBlob, "huge"}, 0, c.max) {
		t.Error("huge entry stored")
	}
	// Replacing keeps the accounting right.
	c.add(cacheKey{kindBlob, "a"}, 1, 50)
	c.remove(cacheKey{kindBlob, "a"})
	sum := int64(0)
	for _, e := range c.m {
		sum += e.weight
	}
	if _, used := c.stats(); used != sum {
		t.Errorf("used %d, entries weigh %d", used, sum)
	}
}

func TestCacheIsBoundedUnderLoad(t *testing.T) {
	store := newFakeStore()
	files := map[string]string{}
	for i := range 200 {
		files["f"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+fmtIntT(i)+".txt"] = strings.Repeat("z", 4000+i)
	}
	store.publish(dep1, false, files)
	h := newTestHandler(t, store, Options{CacheBytes: 200 << 10})
	for p := range files {
		if w := get(h, dep1+".localhost", "/"+p); w.Code != 200 {
			t.Fatalf("%s: %d", p, w.Code)
		}
	}
	if _, used := h.cache.stats(); used > 200<<10 {
		t.Errorf("cache holds %d bytes, limit %d", used, 200<<10)
	}
}

func fmtIntT(i int) string {
	return string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

// TestSingleFlight: 100 concurrent requests for an object not in the cache cause exactly
// one storage read. The store blocks the read until all 100 requests have arrived.
func TestSingleFlight(t *testing.T) {
	store := newFakeStore()
	m := store.publish(dep1, false, map[string]string{"big.js": strings.Repeat("x", 100_000)})
	blob := storage.BlobKey(m.Files[0].SHA256)
	h := newTestHandler(t, store, Options{})
	if w := do(h, http.MethodHead, dep1+".localhost", "/big.js"); w.Code != 200 { // loads the manifest only
		t.Fatal(w.Code)
	}
	const n = 100
	var arrived atomic.Int32
	all := make(chan struct{})
	store.gate = func(key string) {
		if key == blob {
			select {
			case <-all:
			case <-time.After(5 * time.Second):
				t.Error("not all requests arrived")
			}
			time.Sleep(20 * time.Millisecond) // let the last arrivals reach the flight
		}
	}
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == n {
			close(all)
		}
		h.ServeHTTP(w, r)
	})
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := get(counting, dep1+".localhost", "/big.js")
			codes[i] = w.Code
			if w.Body.Len() != 100_000 {
				t.Errorf("body %d bytes", w.Body.Len())
			}
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if c != 200 {
			t.Fatalf("status %d", c)
		}
	}
	if got := store.readCount(blob); got != 1 {
		t.Errorf("%d storage reads for %d concurrent misses, want 1", got, n)
	}
	// Concurrent first requests to a new deployment load its manifest once too.
	store.gate = nil
	store.publish(dep2, false, map[string]string{"index.html": "x"})
	wg = sync.WaitGroup{}
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); get(h, dep2+".localhost", "/") }()
	}
	wg.Wait()
	if got := store.readCount(storage.ManifestKey(dep2)); got != 1 {
		t.Errorf("manifest read %d times", got)
	}
}

func TestLargeFilesAreStreamedNotCached(t *testing.T) {
	store := newFakeStore()
	big := strings.Repeat("0123456789", 1000) // 10 000 bytes
	m := store.publish(dep1, false, map[string]string{"video.bin": big, "small.txt": "small"})
	h := newTestHandler(t, store, Options{MaxCachedFileBytes: 1000})
	host := dep1 + ".localhost"
	var key string
	for _, f := range m.Files {
		if f.Path == "video.bin" {
			key = storage.BlobKey(f.SHA256)
		}
	}
	for range 3 {
		if w := get(h, host, "/video.bin"); w.Code != 200 || w.Body.String() != big || w.Header().Get("Content-Length") != "10000" {
			t.Fatalf("GET: %d %d bytes", w.Code, w.Body.Len())
		}
	}
	if n := store.readCount(key); n != 3 {
		t.Errorf("large file read %d times for 3 requests, want 3 (streamed, not cached)", n)
	}
	w := get(h, host, "/video.bin", "Range", "bytes=9990-")
	if w.Code != 206 || w.Body.String() != "0123456789" {
		t.Errorf("range: %d %q", w.Code, w.Body.String())
	}
	store.mu.Lock()
	ranges := strings.Join(store.ranges, ";")
	store.mu.Unlock()
	if ranges != key+" 9990 10" {
		t.Errorf("ranged GETs %q", ranges)
	}
	// Small files are read once.
	for range 3 {
		get(h, host, "/small.txt")
	}
	if m.Files[0].Path != "small.txt" {
		t.Fatal("manifest order")
	}
	if n := store.readCount(storage.BlobKey(m.Files[0].SHA256)); n != 1 {
		t.Errorf("small file read %d times for 3 requests", n)
	}
}

func TestCorruptBlobIsNotServed(t *testing.T) {
	store := newFakeStore()
	m := store.publish(dep1, false, map[string]string{"a.txt": "right"})
	store.put(storage.BlobKey(m.Files[0].SHA256), []byte("wrong"))
	h := newTestHandler(t, store, Options{})
	if w := get(h, dep1+".localhost", "/a.txt"); w.Code != 503 || strings.Contains(w.Body.String(), "wrong") {
		t.Errorf("corrupt blob: %d %q", w.Code, w.Body.String())
	}
	store.del(storage.BlobKey(m.Files[0].SHA256))
	if w := get(h, dep1+".localhost", "/a.txt"); w.Code != 502 {
		t.Errorf("missing blob: %d", w.Code)
	}
}

func TestStorageOutage(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "one", "cold.html": "cold"})
	store.setAlias("blog", dep1)
	store.setDomain("www.example.com", "blog")
	h := newTestHandler(t, store, Options{AliasTTL: 20 * time.Millisecond})
	for _, host := range []string{"blog.localhost", "www.example.com", dep1 + ".localhost"} {
		if w := get(h, host, "/"); w.Code != 200 {
			t.Fatalf("%s: %d", host, w.Code)
		}
	}
	store.down.Store(true)
	time.Sleep(30 * time.Millisecond) // pointers expired: they are re-read, fail, and stay
	for range 3 {
		for _, host := range []string{"blog.localhost", "www.example.com", dep1 + ".localhost"} {
			if w := get(h, host, "/"); w.Code != 200 || w.Body.String() != "one" {
				t.Errorf("%s while storage is down: %d %q", host, w.Code, w.Body.String())
			}
		}
	}
	// Content never read before cannot be served: 503, not a 404 or a hang.
	if w := get(h, "blog.localhost", "/cold"); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("cold content while down: %d", w.Code)
	}
	// An unknown host while storage is down: 503 (we cannot know it does not exist).
	if w := get(h, "other.localhost", "/"); w.Code != 503 {
		t.Errorf("unknown alias while down: %d", w.Code)
	}
	store.down.Store(false)
	if w := get(h, "blog.localhost", "/cold"); w.Code != 200 {
		t.Errorf("after recovery: %d", w.Code)
	}
}

func TestStartsWhileStorageIsDown(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{"index.html": "one"})
	store.setAlias("blog", dep1)
	store.down.Store(true)
	h := newTestHandler(t, store, Options{AliasTTL: time.Hour})
	for _, host := range []string{"blog.localhost", dep1 + ".localhost"} {
		if w := get(h, host, "/"); w.Code != 503 {
			t.Errorf("%s while down: %d", host, w.Code)
		}
	}
	store.down.Store(false)
	// Failures are not cached: the next request after storage returns is served.
	for _, host := range []string{"blog.localhost", dep1 + ".localhost"} {
		if w := get(h, host, "/"); w.Code != 200 || w.Body.String() != "one" {
			t.Errorf("%s after storage returned: %d", host, w.Code)
		}
	}
}
