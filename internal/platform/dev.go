package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/devstack"
	"github.com/skydeploy/skydeploy/workflows"
)

// DevOptions say where `skydeploy dev` keeps its data and finds its tools.
type DevOptions struct {
	// DataDir holds Temporal's database, the objects, work files, logs and the dev secrets.
	DataDir string
	// BinDir holds the temporal and versitygw binaries (make tools).
	BinDir string
	// Dashboard is the built dashboard the gateway serves (nil: a placeholder page).
	Dashboard fs.FS
}

// RunDev brings up the whole platform on this machine: the Temporal dev server (SQLite under
// the data directory) with its Web UI, Redis, versitygw (objects under the data directory),
// then the workers, the gateway and the request handler. Settings the environment does not
// give get development defaults (devDefaults). Ctrl-C stops everything it started. The data
// directory survives restarts, so earlier deployments stay.
func RunDev(ctx context.Context, o DevOptions) error {
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return err
	}
	data, _ := filepath.Abs(o.DataDir)
	devDefaults(data)
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := NewLogger(cfg, "dev")
	logs := filepath.Join(data, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}

	procs, err := startServices(ctx, cfg, data, o.BinDir, logs, log)
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			log.Info("stopping", "service", procs[i].Name)
			procs[i].Stop(10 * time.Second)
		}
	}()
	if err != nil {
		return err
	}
	if err := devStorageReader(ctx, cfg, o.BinDir); err != nil {
		log.Warn("the request handler will read storage with the read-write keys", "error", err)
		cfg.ServeS3AccessKey, cfg.ServeS3SecretKey = "", ""
	}
	token, err := devToken(ctx, cfg, data)
	if err != nil {
		return err
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	run := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(rctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run("worker", func(ctx context.Context) error {
		return RunWorker(ctx, cfg, NewLogger(cfg, "worker"), true, true)
	})
	gw, closeGW, err := NewGateway(rctx, cfg, NewLogger(cfg, "gateway"), o.Dashboard)
	if err != nil {
		return err
	}
	defer closeGW()
	run("gateway", gw.Run)
	run("serve", func(ctx context.Context) error { return runServe(ctx, cfg, NewLogger(cfg, "serve")) })

	printURLs(cfg, token)
	select {
	case <-ctx.Done():
		fmt.Println("\nStopping SkyDeploy…")
	case err = <-errc:
		log.Error("a role stopped", "error", err)
	}
	cancel()
	wg.Wait()
	return err
}

// devDefaults sets the settings local development needs unless the environment sets them.
func devDefaults(data string) {
	set := func(k, v string) {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
	set("SKYDEPLOY_WORK_DIR", filepath.Join(data, "work"))
	set("SKYDEPLOY_ALLOW_PRIVATE_GIT_HOSTS", "true")
	set("SKYDEPLOY_ALLOW_INSECURE_GIT", "true")
	if _, ok := os.LookupEnv("SKYDEPLOY_SECRET_KEY"); !ok {
		os.Setenv("SKYDEPLOY_SECRET_KEY", persistentSecret(filepath.Join(data, "secret.key")))
	}
	// Redis with a password of its own, on a port of its own: a Redis already on 6379 may
	// belong to someone else and need no password.
	if _, ok := os.LookupEnv("SKYDEPLOY_REDIS_URL"); !ok {
		os.Setenv("SKYDEPLOY_REDIS_URL", "redis://:"+persistentSecret(filepath.Join(data, "redis.password"))+"@127.0.0.1:"+devRedisPort+"/0")
	}
	// The request handler reads storage as a user that may only read (see devStorageReader).
	if _, ok := os.LookupEnv("SKYDEPLOY_SERVE_S3_ACCESS_KEY"); !ok {
		os.Setenv("SKYDEPLOY_SERVE_S3_ACCESS_KEY", devServeAccessKey)
		os.Setenv("SKYDEPLOY_SERVE_S3_SECRET_KEY", persistentSecret(filepath.Join(data, "s3-serve.key")))
	}
}

// devRedisPort is the port of the dev stack's own redis-server.
const devRedisPort = "6380"

// devServeAccessKey is the dev stack's read-only storage user, for the request handler.
const devServeAccessKey = "skydeploy-serve"

// persistentSecret returns a random key stored in path, made on first use, so project
// environment variables stay readable across restarts of `make dev`.
func persistentSecret(path string) string {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b))
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	key := hex.EncodeToString(b[:])
	_ = os.WriteFile(path, []byte(key+"\n"), 0o600)
	return key
}

func startServices(ctx context.Context, cfg config.Config, data, binDir, logs string, log *slog.Logger) ([]*devstack.Process, error) {
	var procs []*devstack.Process
	logFile := func(name string) io.Writer {
		f, err := os.OpenFile(filepath.Join(logs, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return io.Discard
		}
		return f
	}
	if devstack.Listening(cfg.TemporalAddress) {
		log.Info("reusing the Temporal server already running", "address", cfg.TemporalAddress)
	} else {
		bin, err := devstack.FindBinary(binDir, "temporal")
		if err != nil {
			return procs, err
		}
		host, port := splitHostPort(cfg.TemporalAddress, 7233)
		p, err := devstack.Temporal(devstack.TemporalOptions{
			Binary: bin, DBFile: filepath.Join(data, "temporal.db"), Host: host, Port: port, UIPort: port + 1000,
			Namespace: cfg.TemporalNamespace, SearchAttributes: workflows.SearchAttributeTypes(), Log: logFile("temporal"),
		})
		if err != nil {
			return procs, err
		}
		log.Info("starting the Temporal dev server", "address", cfg.TemporalAddress, "binary", bin)
		if err := p.Start(ctx, 90*time.Second); err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	redisURL, err := url.Parse(cfg.RedisURL)
	if err != nil {
		return procs, fmt.Errorf("SKYDEPLOY_REDIS_URL: %w", err)
	}
	redisAddr := redisURL.Host
	if devstack.Listening(redisAddr) {
		log.Info("reusing the Redis already running", "address", redisAddr, "key_prefix", cfg.RedisPrefix)
	} else {
		bin, err := devstack.FindBinary(binDir, "redis-server")
		if err != nil {
			return procs, err
		}
		host, port := splitHostPort(redisAddr, 6379)
		password, _ := redisURL.User.Password()
		p := devstack.Redis(devstack.RedisOptions{Binary: bin, Host: host, Port: port, Password: password, Log: logFile("redis")})
		log.Info("starting redis-server", "address", redisAddr)
		if err := p.Start(ctx, 20*time.Second); err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	s3Addr := strings.TrimPrefix(strings.TrimPrefix(cfg.S3Endpoint, "http://"), "https://")
	if devstack.Listening(s3Addr) {
		log.Info("reusing the object storage already running", "endpoint", cfg.S3Endpoint)
	} else {
		bin, err := devstack.FindBinary(binDir, "versitygw")
		if err != nil {
			return procs, err
		}
		host, port := splitHostPort(s3Addr, 7070)
		p, err := devstack.Versity(devstack.VersityOptions{
			Binary: bin, Dir: filepath.Join(data, "s3", "objects"), Host: host, Port: port,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, IAMDir: filepath.Join(data, "s3", "iam"), Log: logFile("versitygw"),
		})
		if err != nil {
			return procs, err
		}
		log.Info("starting versitygw", "endpoint", cfg.S3Endpoint)
		if err := p.Start(ctx, 20*time.Second); err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	if err := EnsureBucket(ctx, NewStore(cfg), log, 30*time.Second); err != nil {
		return procs, fmt.Errorf("create bucket %s: %w", cfg.S3Bucket, err)
	}
	return procs, nil
}

// devStorageReader makes the request handler's read-only user in versitygw (running with its
// IAM) and grants it read access to the bucket by policy.
func devStorageReader(ctx context.Context, cfg config.Config, binDir string) error {
	if cfg.ServeS3AccessKey == "" {
		return nil
	}
	bin, err := devstack.FindBinary(binDir, "versitygw")
	if err != nil {
		return err
	}
	if err := devstack.VersityCreateUser(ctx, bin, cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.ServeS3AccessKey, cfg.ServeS3SecretKey); err != nil {
		return err
	}
	return NewStore(cfg).GrantReadOnly(ctx, cfg.ServeS3AccessKey)
}

func splitHostPort(addr string, def int) (string, int) {
	host, portStr, ok := strings.Cut(addr, ":")
	if !ok {
		return addr, def
	}
	var port int
	if _, err := fmt.Sscanf(portStr, "%d", &port); err != nil {
		return host, def
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port
}

func printURLs(cfg config.Config, token string) {
	_, gwPort := splitHostPort(cfg.GatewayAddr, 3001)
	_, uiPort := splitHostPort(cfg.TemporalAddress, 7233)
	fmt.Printf(`
SkyDeploy is running. Ctrl-C stops everything started here.

  Dashboard       http://localhost:%d/
  API             http://localhost:%d/api   (try: curl -X POST -H 'Content-Type: application/json' -d '{"repoUrl":"https://github.com/owner/repo"}' http://localhost:%d/api/deployments)
  Temporal UI     http://localhost:%d/namespaces/%s/workflows
  Deployed sites  %s   (e.g. http://<deployment-id>.%s:%s/)
  Metrics/health  http://%s/healthz (request handler admin)
`, gwPort, gwPort, gwPort, uiPort+1000, cfg.TemporalNamespace, cfg.SiteURL("<id>"), cfg.BaseDomain, cfg.SitePort, cfg.ServeAdminAddr)
	if token != "" {
		fmt.Printf("  API token       %s   (export SKYDEPLOY_TOKEN=%s)\n", token, token)
	}
	fmt.Println()
}
