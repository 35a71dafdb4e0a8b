// Command serve is the Go half of bench/serve/run.sh, which compares the request handler
// with nginx serving the same files. Sub-commands:
//
//	site DIR                         write the benchmark site into DIR
//	seed -endpoint URL DIR           publish DIR to object storage as a deployment and point
//	                                 the alias "bench" at it (prints the deployment id)
//	serve -endpoint URL -addr ADDR   run servehandler until SIGINT/SIGTERM
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
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
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
		fmt.Fprintln(os.Stderr, "usage: serve site DIR | seed [flags] DIR | serve [flags]")
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
	default:
		err = fmt.Errorf("unknown sub-command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

// writeSite makes the three benchmark files: a small HTML page, a 20 KiB fingerprinted
// asset and a 150 KiB one (random text, so sizes on the wire are what they say).
func writeSite(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: site DIR")
	}
	dir := args[0]
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(n int) []byte {
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 ;(){}=+-*/\n"
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	files := map[string][]byte{
		"index.html":                []byte("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bench</title></head>\n<body><h1>SkyDeploy benchmark</h1><p>A small page.</p></body></html>\n"),
		"assets/app.3f2a1c9b.js":    text(20 << 10),
		"assets/vendor.8d7e6f5a.js": text(150 << 10),
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
	id := ids.NewDeployment()
	m := manifest.Manifest{Version: manifest.Version, DeploymentID: id, Project: *alias, Kind: "static", CreatedAt: time.Now().UTC()}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		f := manifest.File{Path: rel, Size: int64(len(data)), ContentType: mimetypes.ByName(rel), SHA256: hex.EncodeToString(sum[:])}
		if err := st.Put(ctx, storage.BlobKey(f.SHA256), data, storage.PutOptions{ContentType: f.ContentType}); err != nil {
			return err
		}
		m.Files = append(m.Files, f)
		m.TotalSize += f.Size
		return nil
	})
	if err != nil {
		return err
	}
	data, _ := json.Marshal(m)
	if err := st.Put(ctx, storage.ManifestKey(id), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	a, _ := json.Marshal(manifest.Alias{Label: *alias, Project: *alias, DeploymentID: id, UpdatedAt: time.Now().UTC(), Reason: "publish"})
	if err := st.Put(ctx, storage.AliasKey(*alias), a, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	sf := addStoreFlags(fs)
	addr := fs.String("addr", "127.0.0.1:3002", "listen address")
	admin := fs.String("admin", "127.0.0.1:3012", "admin listen address (metrics, pprof)")
	base := fs.String("base-domain", "localhost", "base domain")
	cache := fs.Int64("cache-bytes", 256<<20, "memory cache size")
	logEvery := fs.Int("access-log-every", -1, "log one request in N (-1: off, like nginx's access_log off)")
	_ = fs.Parse(args)
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := servehandler.New(sf.store(), servehandler.Options{
		BaseDomain: *base, CacheBytes: *cache, AliasTTL: 2 * time.Second, Log: log, AccessLogEvery: *logEvery,
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return servehandler.Run(ctx, h, *addr, strings.TrimSpace(*admin))
}
