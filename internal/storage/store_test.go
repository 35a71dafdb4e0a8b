package storage

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeS3 answers the S3 REST calls Store makes (path style), keeping objects in memory. fail,
// when set, may answer a request with an error first: what a real server does when it is
// overloaded or a key is missing, without the timing of a real outage.
type fakeS3 struct {
	mu       sync.Mutex
	bucket   bool
	objects  map[string]fakeObject
	requests []string // "METHOD key" of every request, in order
	pageSize int      // keys per ListObjectsV2 page (1000 when 0)
	fail     func(method, key string, attempt int) (status int, code string)
	attempts map[string]int
}

type fakeObject struct {
	data                                   []byte
	contentType, contentEncoding, cacheCtl string
}

func newFakeS3(t *testing.T) (*fakeS3, *Store) {
	t.Helper()
	f := &fakeS3{bucket: true, objects: map[string]fakeObject{}, attempts: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, New(Options{Endpoint: srv.URL, Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s", PathStyle: true})
}

func (f *fakeS3) s3Error(w http.ResponseWriter, r *http.Request, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>`, code, code)
	}
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/b"), "/")
	op := r.Method + " " + key
	f.requests = append(f.requests, op)
	f.attempts[op]++
	if f.fail != nil {
		if status, code := f.fail(r.Method, key, f.attempts[op]); status != 0 {
			f.s3Error(w, r, status, code)
			return
		}
	}
	switch {
	case key == "" && r.Method == http.MethodHead:
		if !f.bucket {
			w.WriteHeader(http.StatusNotFound)
		}
	case key == "" && r.Method == http.MethodPut:
		if f.bucket {
			f.s3Error(w, r, http.StatusConflict, "BucketAlreadyOwnedByYou")
			return
		}
		f.bucket = true
	case key == "" && r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		f.list(w, r)
	case r.Method == http.MethodPut:
		data, _ := io.ReadAll(r.Body)
		f.objects[key] = fakeObject{data: data, contentType: r.Header.Get("Content-Type"),
			contentEncoding: r.Header.Get("Content-Encoding"), cacheCtl: r.Header.Get("Cache-Control")}
		w.Header().Set("ETag", `"x"`)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		o, ok := f.objects[key]
		if !ok {
			f.s3Error(w, r, http.StatusNotFound, "NoSuchKey")
			return
		}
		data := o.data
		if rng := r.Header.Get("Range"); rng != "" {
			var from, to int
			if _, err := fmt.Sscanf(rng, "bytes=%d-%d", &from, &to); err != nil || from > to || to >= len(data) {
				f.s3Error(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
				return
			}
			data = data[from : to+1]
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(o.data)))
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		}
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	case r.Method == http.MethodDelete:
		delete(f.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.s3Error(w, r, http.StatusNotImplemented, "NotImplemented")
	}
}

func (f *fakeS3) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, q.Get("prefix")) && k > q.Get("continuation-token") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	n := f.pageSize
	if n == 0 {
		n = 1000
	}
	type content struct {
		Key          string
		Size         int
		LastModified string
	}
	out := struct {
		XMLName               xml.Name `xml:"ListBucketResult"`
		Name                  string
		Prefix                string
		KeyCount              int
		IsTruncated           bool
		NextContinuationToken string `xml:",omitempty"`
		Contents              []content
	}{Name: "b", Prefix: q.Get("prefix")}
	if len(keys) > n {
		keys, out.IsTruncated, out.NextContinuationToken = keys[:n], true, keys[n-1]
	}
	for _, k := range keys {
		out.Contents = append(out.Contents, content{Key: k, Size: len(f.objects[k].data), LastModified: "2026-01-02T03:04:05.000Z"})
	}
	out.KeyCount = len(keys)
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

func (f *fakeS3) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r == op {
			n++
		}
	}
	return n
}

func TestPutGetRoundTripKeepsMetadata(t *testing.T) {
	f, s := newFakeS3(t)
	ctx := context.Background()
	err := s.Put(ctx, "blobs/abc.gz", []byte("compressed"), PutOptions{ContentType: "text/css; charset=utf-8", ContentEncoding: "gzip", CacheControl: "public, max-age=31536000, immutable"})
	if err != nil {
		t.Fatal(err)
	}
	o := f.objects["blobs/abc.gz"]
	if o.contentType != "text/css; charset=utf-8" || o.contentEncoding != "gzip" || o.cacheCtl != "public, max-age=31536000, immutable" {
		t.Errorf("stored metadata = %+v", o)
	}
	body, size, err := s.Get(ctx, "blobs/abc.gz")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	body.Close()
	if string(data) != "compressed" || size != int64(len("compressed")) {
		t.Errorf("Get = %q (size %d)", data, size)
	}
	rc, err := s.GetRange(ctx, "blobs/abc.gz", 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rc)
	rc.Close()
	if string(part) != "mpre" {
		t.Errorf("GetRange(2, 4) = %q, want %q", part, "mpre")
	}
}

// TestMissingObjects: a missing key is ErrNotFound (wrapped with the key) for reads, false for
// Exists and no error for Delete; anything else is not mistaken for "missing".
func TestMissingObjects(t *testing.T) {
	f, s := newFakeS3(t)
	ctx := context.Background()
	_, _, err := s.Get(ctx, "deployments/nope/manifest.json")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "deployments/nope/manifest.json") {
		t.Errorf("Get missing = %v, want ErrNotFound naming the key", err)
	}
	if _, err := s.GetBytes(ctx, "aliases/x.json", 1<<20); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetBytes missing = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRange(ctx, "blobs/nope", 0, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRange missing = %v, want ErrNotFound", err)
	}
	if ok, err := s.Exists(ctx, "blobs/nope"); ok || err != nil {
		t.Errorf("Exists missing = %v, %v; want false, nil", ok, err)
	}
	if err := s.Delete(ctx, "blobs/nope"); err != nil {
		t.Errorf("Delete missing = %v, want nil", err)
	}
	f.fail = func(method, key string, _ int) (int, string) { return http.StatusForbidden, "AccessDenied" }
	_, _, err = s.Get(ctx, "blobs/denied")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("Get denied = %v, want an AccessDenied error that is not ErrNotFound", err)
	}
	if ok, err := s.Exists(ctx, "blobs/denied"); ok || err == nil {
		t.Errorf("Exists denied = %v, %v; want an error, not \"missing\"", ok, err)
	}
	if err := s.Delete(ctx, "blobs/denied"); err == nil {
		t.Error("Delete denied = nil, want an error")
	}
}

func TestGetBytesRefusesObjectsOverTheLimit(t *testing.T) {
	f, s := newFakeS3(t)
	f.objects["deployments/x/manifest.json"] = fakeObject{data: []byte(strings.Repeat("x", 2048))}
	ctx := context.Background()
	_, err := s.GetBytes(ctx, "deployments/x/manifest.json", 1024)
	if err == nil || !strings.Contains(err.Error(), "2048 bytes is more than the 1024 allowed") {
		t.Errorf("GetBytes over the limit = %v", err)
	}
	data, err := s.GetBytes(ctx, "deployments/x/manifest.json", 2048)
	if err != nil || len(data) != 2048 {
		t.Errorf("GetBytes at the limit = %d bytes, %v", len(data), err)
	}
}

// TestRetries: the client retries once (two attempts in all) on a server error or throttling,
// so a passing failure is hidden; a lasting one comes back quickly for Temporal to retry with
// its own backoff; a client error is not retried at all.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		status       int
		code         string
		failAttempts int // attempts that fail before the server answers normally
		wantErr      bool
		wantAttempts int
	}{
		{"one 500 is retried", http.StatusInternalServerError, "InternalError", 1, false, 2},
		{"one 503 SlowDown is retried", http.StatusServiceUnavailable, "SlowDown", 1, false, 2},
		{"a lasting 500 fails after two attempts", http.StatusInternalServerError, "InternalError", 100, true, 2},
		{"a 400 is not retried", http.StatusBadRequest, "InvalidArgument", 100, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newFakeS3(t)
			f.objects["projects/p.json"] = fakeObject{data: []byte(`{"name":"p"}`)}
			f.fail = func(method, key string, attempt int) (int, string) {
				if method == http.MethodGet && attempt <= tc.failAttempts {
					return tc.status, tc.code
				}
				return 0, ""
			}
			begin := time.Now()
			data, err := s.GetBytes(ctx, "projects/p.json", 1<<20)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "projects/p.json") || !strings.Contains(err.Error(), tc.code) {
					t.Errorf("GetBytes = %v, want an error naming the key and %s", err, tc.code)
				}
			} else if err != nil || string(data) != `{"name":"p"}` {
				t.Errorf("GetBytes = %q, %v", data, err)
			}
			if n := f.count("GET projects/p.json"); n != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", n, tc.wantAttempts)
			}
			if took := time.Since(begin); took > 5*time.Second {
				t.Errorf("took %s: storage errors must come back fast", took)
			}
		})
	}
	t.Run("puts are retried with the whole body", func(t *testing.T) {
		f, s := newFakeS3(t)
		f.fail = func(method, key string, attempt int) (int, string) {
			if method == http.MethodPut && attempt == 1 {
				return http.StatusInternalServerError, "InternalError"
			}
			return 0, ""
		}
		body := strings.Repeat("0123456789", 1000)
		if err := s.Put(ctx, "sources/x.tar.gz", []byte(body), PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := string(f.objects["sources/x.tar.gz"].data); got != body {
			t.Errorf("the retried put stored %d bytes, want %d", len(got), len(body))
		}
		if n := f.count("PUT sources/x.tar.gz"); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
}

func TestListFollowsPages(t *testing.T) {
	f, s := newFakeS3(t)
	f.pageSize = 3
	for i := 0; i < 8; i++ {
		f.objects[fmt.Sprintf("deployments/d%d/manifest.json", i)] = fakeObject{data: make([]byte, i)}
	}
	f.objects["aliases/other.json"] = fakeObject{data: []byte("{}")}
	objs, err := s.List(context.Background(), DeploymentsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 8 {
		t.Fatalf("List = %d objects, want 8 across 3 pages", len(objs))
	}
	for i, o := range objs {
		if want := fmt.Sprintf("deployments/d%d/manifest.json", i); o.Key != want || o.Size != int64(i) || o.LastModified.IsZero() {
			t.Errorf("object %d = %+v, want key %s size %d", i, o, want, i)
		}
	}
	if n := f.count("GET "); n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}
	f.fail = func(method, key string, _ int) (int, string) { return http.StatusForbidden, "AccessDenied" }
	if _, err := s.List(context.Background(), AliasesPrefix); err == nil || !strings.Contains(err.Error(), "list aliases/") {
		t.Errorf("List denied = %v, want an error naming the prefix", err)
	}
}

func TestEnsureBucket(t *testing.T) {
	f, s := newFakeS3(t)
	ctx := context.Background()
	f.bucket = false
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.bucket {
		t.Error("EnsureBucket did not create the missing bucket")
	}
	if err := s.EnsureBucket(ctx); err != nil {
		t.Errorf("EnsureBucket on an existing bucket = %v", err)
	}
	if n := f.count("PUT "); n != 1 {
		t.Errorf("%d create requests, want 1", n)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
	f.fail = func(method, key string, _ int) (int, string) { return http.StatusForbidden, "AccessDenied" }
	if err := s.EnsureBucket(ctx); err == nil || !strings.Contains(err.Error(), "create bucket b") {
		t.Errorf("EnsureBucket denied = %v, want an error naming the bucket", err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "bucket b") {
		t.Errorf("Ping denied = %v", err)
	}
}

// TestUnreachableServerFailsFast: with nothing listening, calls fail (no hang) with the key.
func TestUnreachableServerFailsFast(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := New(Options{Endpoint: url, Bucket: "b", AccessKey: "k", SecretKey: "s", PathStyle: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begin := time.Now()
	_, err := s.GetBytes(ctx, "aliases/blog.json", 1<<20)
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "aliases/blog.json") {
		t.Errorf("GetBytes with storage down = %v, want a connection error naming the key", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("took %s with storage down", took)
	}
}
