package servehandler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/mimetypes"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// fakeStore is an in-memory ObjectStore that counts every read per key and can fail or
// block on demand.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	reads   map[string]int
	ranges  []string // "key off n" of every GetRange
	down    atomic.Bool
	// gate, when set, is called at the start of every read (outside the lock).
	gate func(key string)
}

func newFakeStore() *fakeStore {
	return &fakeStore{objects: map[string][]byte{}, reads: map[string]int{}}
}

var errDown = errors.New("connection refused (storage is down)")

func (s *fakeStore) put(key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = data
}

func (s *fakeStore) del(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
}

func (s *fakeStore) read(key string) ([]byte, error) {
	if g := s.gate; g != nil {
		g(key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads[key]++
	if s.down.Load() {
		return nil, errDown
	}
	b, ok := s.objects[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, storage.ErrNotFound)
	}
	return b, nil
}

func (s *fakeStore) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	b, err := s.read(key)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (s *fakeStore) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	b, err := s.read(key)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.ranges = append(s.ranges, fmt.Sprintf("%s %d %d", key, off, n))
	s.mu.Unlock()
	end := min(off+n, int64(len(b)))
	return io.NopCloser(bytes.NewReader(b[off:end])), nil
}

func (s *fakeStore) GetBytes(ctx context.Context, key string, limit int64) ([]byte, error) {
	b, err := s.read(key)
	if err != nil {
		return nil, err
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("%s too large", key)
	}
	return bytes.Clone(b), nil
}

func (s *fakeStore) Ping(ctx context.Context) error {
	if s.down.Load() {
		return errDown
	}
	return nil
}

func (s *fakeStore) readCount(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[key]
}

func (s *fakeStore) totalReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.reads {
		n += c
	}
	return n
}

func (s *fakeStore) keysRead() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.reads {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *fakeStore) resetReads() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = map[string]int{}
	s.ranges = nil
}

// publish writes a deployment the way the publisher does: blobs (with fake "br" and "gz"
// variants for files whose name is listed in compressed), the manifest, and returns the
// manifest. Variant contents are marked so tests can tell which one was served.
func (s *fakeStore) publish(id string, spa bool, files map[string]string, compressed ...string) *manifest.Manifest {
	m := &manifest.Manifest{Version: manifest.Version, DeploymentID: id, Kind: "static", SPA: spa, CreatedAt: time.Now()}
	for p, body := range files {
		sum := sha256.Sum256([]byte(body))
		sha := hex.EncodeToString(sum[:])
		f := manifest.File{Path: p, Size: int64(len(body)), ContentType: mimetypes.ByName(p), SHA256: sha}
		s.put(storage.BlobKey(sha), []byte(body))
		for _, c := range compressed {
			if c == p {
				br, gz := []byte("BR:"+body), []byte("GZ:"+body)
				s.put(storage.BlobVariantKey(sha, "br"), br)
				s.put(storage.BlobVariantKey(sha, "gz"), gz)
				f.Encodings = map[string]int64{"br": int64(len(br)), "gz": int64(len(gz))}
			}
		}
		m.Files = append(m.Files, f)
		m.TotalSize += f.Size
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	data, _ := json.Marshal(m)
	s.put(storage.ManifestKey(id), data)
	return m
}

func (s *fakeStore) setAlias(label, id string) {
	data, _ := json.Marshal(manifest.Alias{Label: label, Project: strings.Split(label, "--")[0], DeploymentID: id, UpdatedAt: time.Now()})
	s.put(storage.AliasKey(label), data)
}

func (s *fakeStore) setDomain(host, project string) {
	data, _ := json.Marshal(manifest.Domain{Domain: host, Project: project})
	s.put(storage.DomainKey(host), data)
}

// Deployment ids used by the tests (valid ids: a digit, then 11 of the alphabet).
const (
	dep1 = "0aaaaaaaaaaa"
	dep2 = "1bbbbbbbbbbb"
	dep3 = "2ccccccccccc"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestHandler(t testing.TB, store ObjectStore, o Options) *Handler {
	t.Helper()
	if o.Log == nil {
		o.Log = quietLog()
	}
	if o.AliasTTL == 0 {
		o.AliasTTL = time.Hour
	}
	if o.DiskCacheDir == "" {
		o.DiskCacheDir = t.TempDir()
	}
	return New(store, o)
}

// do sends one request through the handler.
func do(h http.Handler, method, host, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(h http.Handler, host, target string, hdr ...string) *httptest.ResponseRecorder {
	return do(h, http.MethodGet, host, target, hdr...)
}

func mustManifest(t testing.TB, files map[string]string) *manifest.Manifest {
	t.Helper()
	s := newFakeStore()
	return s.publish(dep1, false, files)
}
