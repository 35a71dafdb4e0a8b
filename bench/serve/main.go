// Command serve is the Go half of bench/serve/run.sh, which compares the request handler
// with nginx serving the same files. Sub-commands:
//
//	site DIR                         write the benchmark site into DIR
//	seed -endpoint URL DIR           publish DIR to object storage as a deployment and point
//	                                 the alias "bench" at it (prints the deployment id)
//	serve -endpoint URL -addr ADDR   run servehandler until SIGINT/SIGTERM
//	cold -endpoint URL -addr ADDR    publish fresh deployments and time the first request to
//	                                 each (manifest and file read from storage), print p50/p99
//
// Storage credentials and bucket default to the values run.sh gives versitygw. Like the request
// handler it measures, it must never import Temporal or Redis.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/mimetypes"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/servehandler"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: serve site DIR | seed [flags] DIR | serve [flags] | cold [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "site":
		err = writeSite(os.Args[2:])
	case "seed":
		err = seed(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "cold":
		err = cold(os.Args[2:])
	default:
		err = fmt.Errorf("unknown sub-command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

// benchPage is the small HTML page of the benchmark sites.
const benchPage = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bench</title></head>\n<body><h1>SkyDeploy benchmark</h1><p>A small page.</p></body></html>\n"

// randomText returns n bytes of random text from rng, so that sizes on the wire are what
// they say (nothing compresses it much).
func randomText(rng *rand.Rand, n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 ;(){}=+-*/\n"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

// writeSite makes the four benchmark files: a small HTML page and fingerprinted assets of
// 20 KiB, 150 KiB and 1 MiB.
func writeSite(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: site DIR")
	}
	dir := args[0]
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{
		"index.html":                []byte(benchPage),
		"assets/app.3f2a1c9b.js":    randomText(rng, 20<<10),
		"assets/vendor.8d7e6f5a.js": randomText(rng, 150<<10),
		"assets/chunk.5b6c7d8e.js":  randomText(rng, 1<<20),
	}
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type storeFlags struct{ endpoint, bucket, access, secret *string }

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		endpoint: fs.String("endpoint", "http://127.0.0.1:7070", "S3 endpoint"),
		bucket:   fs.String("bucket", "bench", "bucket"),
		access:   fs.String("access", "benchaccess", "access key"),
		secret:   fs.String("secret", "benchsecret-0123456789", "secret key"),
	}
}

func (f storeFlags) store() *storage.Store {
	return storage.New(storage.Options{Endpoint: *f.endpoint, Region: "us-east-1", Bucket: *f.bucket,
		AccessKey: *f.access, SecretKey: *f.secret, PathStyle: true})
}

func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	sf := addStoreFlags(fs)
	alias := fs.String("alias", "bench", "alias label to point at the deployment")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: seed [flags] DIR")
	}
	root := fs.Arg(0)
	ctx := context.Background()
	st := sf.store()
	if err := st.EnsureBucket(ctx); err != nil {
		return err
	}
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		return err
	}
	id, err := publish(ctx, st, *alias, files)
	if err != nil {
		return err
	}
	a, _ := json.Marshal(manifest.Alias{Label: *alias, Project: *alias, DeploymentID: id, UpdatedAt: time.Now().UTC(), Reason: "publish"})
	if err := st.Put(ctx, storage.AliasKey(*alias), a, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}

// publish writes files as a new deployment of project (blobs, then the manifest) and returns
// its id.
func publish(ctx context.Context, st *storage.Store, project string, files map[string][]byte) (string, error) {
	id := ids.NewDeployment()
	m := manifest.Manifest{Version: manifest.Version, DeploymentID: id, Project: project, Kind: "static", CreatedAt: time.Now().UTC()}
	for rel, data := range files {
		sum := sha256.Sum256(data)
		f := manifest.File{Path: rel, Size: int64(len(data)), ContentType: mimetypes.ByName(rel), SHA256: hex.EncodeToString(sum[:])}
		if err := st.Put(ctx, storage.BlobKey(f.SHA256), data, storage.PutOptions{ContentType: f.ContentType}); err != nil {
			return "", err
		}
		m.Files = append(m.Files, f)
		m.TotalSize += f.Size
	}
	data, _ := json.Marshal(m)
	if err := st.Put(ctx, storage.ManifestKey(id), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return "", err
	}
	return id, nil
}

// cold publishes deployments the handler has never seen, each with its own content, and
// times the first request to each through its deployment host: the handler reads the
// manifest and the file from storage (the S3 server) before answering. It prints the
// median and p99 per kind of file.
func cold(args []string) error {
	fs := flag.NewFlagSet("cold", flag.ExitOnError)
	sf := addStoreFlags(fs)
	addr := fs.String("addr", "127.0.0.1:3002", "the handler's address")
	n := fs.Int("n", 50, "deployments per kind of file")
	base := fs.String("base-domain", "localhost", "base domain")
	_ = fs.Parse(args)
	ctx := context.Background()
	st := sf.store()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	cases := []struct {
		name, path string
		size       int
	}{
		{"html (small)", "/", 0},
		{"asset 150 KiB", "/assets/vendor.js", 150 << 10},
		{"asset 1 MiB", "/assets/chunk.js", 1 << 20},
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	for _, c := range cases {
		var hosts []string
		for range *n {
			files := map[string][]byte{"index.html": append([]byte(benchPage), randomText(rng, 16)...)}
			if c.size > 0 {
				files[strings.TrimPrefix(c.path, "/")] = randomText(rng, c.size)
			}
			id, err := publish(ctx, st, "cold", files)
			if err != nil {
				return err
			}
			hosts = append(hosts, id+"."+*base)
		}
		var took []time.Duration
		for _, host := range hosts {
			req, _ := http.NewRequest("GET", "http://"+*addr+c.path, nil)
			req.Host = host
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d := time.Since(start)
			if err != nil || resp.StatusCode != 200 {
				return fmt.Errorf("cold %s%s: status %d, %v", host, c.path, resp.StatusCode, err)
			}
			took = append(took, d)
		}
		slices.Sort(took)
		fmt.Printf("%s|%.2f|%.2f|%d\n", c.name, ms(took[len(took)/2]), ms(took[(len(took)*99+99)/100-1]), len(took))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	sf := addStoreFlags(fs)
	addr := fs.String("addr", "127.0.0.1:3002", "listen address")
	admin := fs.String("admin", "127.0.0.1:3012", "admin listen address (metrics, pprof)")
	base := fs.String("base-domain", "localhost", "base domain")
	cache := fs.Int64("cache-bytes", 256<<20, "memory cache size")
	logEvery := fs.Int("access-log-every", -1, "log one request in N (-1: off, like nginx's access_log off)")
	diskDir := fs.String("disk-cache-dir", "", "disk cache folder (servehandler's default when empty)")
	diskBytes := fs.Int64("disk-cache-bytes", 0, "disk cache size (servehandler's default when 0, off when negative)")
	_ = fs.Parse(args)
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := servehandler.New(sf.store(), servehandler.Options{
		BaseDomain: *base, CacheBytes: *cache, AliasTTL: 2 * time.Second, Log: log, AccessLogEvery: *logEvery,
		DiskCacheDir: *diskDir, DiskCacheBytes: *diskBytes,
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return servehandler.Run(ctx, h, *addr, strings.TrimSpace(*admin))
}
