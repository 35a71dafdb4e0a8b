package servehandler

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/devstack"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/mimetypes"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// startVersity starts bin/versitygw on a free port with a fresh bucket. It uses
// internal/devstack directly rather than internal/testenv, which imports the workflow and
// app packages: the request handler's tests should build whenever the handler does.
func startVersity(t *testing.T) (*storage.Store, *devstack.Process) {
	t.Helper()
	root, _ := filepath.Abs("..")
	bin := filepath.Join(root, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("bin/versitygw is missing (run `make tools`): %v", err)
	}
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logf, _ := os.Create(filepath.Join(dir, "versitygw.log"))
	t.Cleanup(func() { logf.Close() })
	p, err := devstack.Versity(devstack.VersityOptions{
		Binary: bin, Dir: filepath.Join(dir, "objects"), Port: port,
		AccessKey: "serveaccess", SecretKey: "servesecret-0123456789", Log: logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	st := storage.New(storage.Options{
		Endpoint: "http://" + p.Addr, Region: "us-east-1", Bucket: "serve-e2e",
		AccessKey: "serveaccess", SecretKey: "servesecret-0123456789", PathStyle: true,
	})
	if err := st.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, p
}

// publishS3 writes files as the publisher does (blobs, a gzip variant for the compressible
// ones, the manifest) and returns the manifest.
func publishS3(t *testing.T, st *storage.Store, id string, spa bool, files map[string][]byte) *manifest.Manifest {
	t.Helper()
	ctx := context.Background()
	m := &manifest.Manifest{Version: manifest.Version, DeploymentID: id, Kind: "static", SPA: spa, CreatedAt: time.Now()}
	for p, data := range files {
		sum := sha256.Sum256(data)
		f := manifest.File{Path: p, Size: int64(len(data)), ContentType: mimetypes.ByName(p), SHA256: hex.EncodeToString(sum[:])}
		if err := st.Put(ctx, storage.BlobKey(f.SHA256), data, storage.PutOptions{ContentType: f.ContentType}); err != nil {
			t.Fatal(err)
		}
		if mimetypes.Compressible(f.ContentType) && len(data) >= 512 {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			if err := st.Put(ctx, storage.BlobVariantKey(f.SHA256, "gz"), buf.Bytes(), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			f.Encodings = map[string]int64{"gz": int64(buf.Len())}
		}
		m.Files = append(m.Files, f)
	}
	data, _ := json.Marshal(m)
	if err := st.Put(ctx, storage.ManifestKey(id), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	return m
}

func putJSON(t *testing.T, st *storage.Store, key string, v any) {
	t.Helper()
	data, _ := json.Marshal(v)
	if err := st.Put(context.Background(), key, data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
}

func TestEndToEndVersity(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	st, proc := startVersity(t)
	page := []byte("<!doctype html><title>e2e</title>" + strings.Repeat("<p>hello world</p>", 100))
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16) // 256 KiB, streamed
	publishS3(t, st, dep1, true, map[string][]byte{
		"index.html":             page,
		"assets/app.3f2a1c9b.js": []byte("console.log('e2e')"),
		"big.bin":                big,
		"_redirects":             []byte("/old /assets/app.3f2a1c9b.js 302\n"),
	})
	publishS3(t, st, dep2, false, map[string][]byte{"index.html": []byte("second")})
	putJSON(t, st, storage.AliasKey("site"), manifest.Alias{Label: "site", Project: "site", DeploymentID: dep1})
	putJSON(t, st, storage.DomainKey("www.e2e.test"), manifest.Domain{Domain: "www.e2e.test", Project: "site"})

	h := New(st, Options{BaseDomain: "localhost", AliasTTL: 200 * time.Millisecond, MaxCachedFileBytes: 64 << 10, Log: quietLog()})
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	fetch := func(host, path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = host
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	for _, host := range []string{dep1 + ".localhost", "site.localhost", "www.e2e.test"} {
		resp, b := fetch(host, "/")
		if resp.StatusCode != 200 || !bytes.Equal(b, page) {
			t.Errorf("%s: %d, %d bytes", host, resp.StatusCode, len(b))
		}
	}
	resp, b := fetch("site.localhost", "/", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip variant: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, page) {
		t.Error("gzip variant does not decompress to the page")
	}
	resp, b = fetch("site.localhost", "/assets/app.3f2a1c9b.js")
	if string(b) != "console.log('e2e')" || resp.Header.Get("Cache-Control") != cacheImmutable {
		t.Errorf("asset: %q %v", b, resp.Header)
	}
	if resp, _ = fetch("site.localhost", "/assets/app.3f2a1c9b.js", "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("revalidation: %d", resp.StatusCode)
	}
	if resp, b = fetch("site.localhost", "/big.bin"); resp.StatusCode != 200 || !bytes.Equal(b, big) {
		t.Errorf("streamed file: %d, %d bytes", resp.StatusCode, len(b))
	}
	if resp, b = fetch("site.localhost", "/big.bin", "Range", "bytes=100000-100015"); resp.StatusCode != 206 || !bytes.Equal(b, big[100000:100016]) {
		t.Errorf("ranged GET through S3: %d %q", resp.StatusCode, b)
	}
	if resp, _ = fetch("site.localhost", "/old?x=1"); resp.StatusCode != 302 || resp.Header.Get("Location") != "/assets/app.3f2a1c9b.js?x=1" {
		t.Errorf("_redirects: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, b = fetch("site.localhost", "/some/route", "Accept", "text/html"); resp.StatusCode != 200 || !bytes.Equal(b, page) {
		t.Errorf("SPA fallback: %d", resp.StatusCode)
	}
	if resp, _ = fetch("site.localhost", "/missing.js", "Accept", "text/html"); resp.StatusCode != 404 {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
	if resp, _ = fetch("nope.localhost", "/"); resp.StatusCode != 404 {
		t.Errorf("unknown project: %d", resp.StatusCode)
	}

	// Publishing moves the alias: served within a few seconds.
	putJSON(t, st, storage.AliasKey("site"), manifest.Alias{Label: "site", Project: "site", DeploymentID: dep2})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, b := fetch("site.localhost", "/"); string(b) == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("new alias not served within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Storage goes away: what is cached keeps being served; readiness reports it.
	proc.Stop(5 * time.Second)
	time.Sleep(300 * time.Millisecond) // past the alias TTL
	if _, b := fetch("site.localhost", "/"); string(b) != "second" {
		t.Errorf("alias with storage down: %q", b)
	}
	if resp, b := fetch(dep1+".localhost", "/assets/app.3f2a1c9b.js"); resp.StatusCode != 200 || string(b) != "console.log('e2e')" {
		t.Errorf("cached asset with storage down: %d", resp.StatusCode)
	}
	if w := get(h.AdminHandler(), "x", "/readyz"); w.Code != 503 {
		t.Errorf("readyz with storage down: %d", w.Code)
	}
}
