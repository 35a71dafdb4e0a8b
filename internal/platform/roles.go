// Package platform assembles SkyDeploy's roles from a Config, in one place: the clients every
// role needs (clients.go), the activities of workers (activities.go), and each role ready to
// run — RunGateway, RunWorker, RunServe (roles.go) and RunDev, the whole platform on one
// machine (dev.go) — plus API tokens (token.go). The same code runs them as sub-commands of
// the binary, all together under `skydeploy dev`, and in-process in the end-to-end tests.
//
// cmd/skydeploy only parses arguments and calls it. No role package imports it: it must never
// be imported by gateway, workers, activities, workflows or servehandler.
package platform

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/metrics"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/sandbox"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/servehandler"
	"github.com/skydeploy/skydeploy/workers"
)

// RunWorker runs a worker process (light, build or both) until ctx ends.
func RunWorker(ctx context.Context, cfg config.Config, log *slog.Logger, light, build bool) error {
	return RunWorkerWith(ctx, cfg, log, light, build, nil)
}

// RunWorkerWith is RunWorker with a function that may change the activities' settings before
// the worker starts: benchmarks use it for throw-away configurations no setting offers (builds
// on the host's network, to measure what the egress proxy costs).
func RunWorkerWith(ctx context.Context, cfg config.Config, log *slog.Logger, light, build bool, adjust func(*activities.Activities)) error {
	if build {
		// Fail closed: a build worker whose sandbox cannot work takes no build.
		warning, mechanism, err := sandbox.Check(sandbox.Options{Mode: cfg.Sandbox, User: cfg.BuildUser, ResourceControl: BuildControl(cfg)})
		if err != nil {
			return fmt.Errorf("build worker refuses to start: %w", err)
		}
		if warning != "" {
			log.Warn(warning)
		}
		log.Info("build limits", "mechanism", mechanism)
	}
	store := NewStore(cfg)
	if err := EnsureBucket(ctx, store, log, 2*time.Minute); err != nil {
		return fmt.Errorf("object storage: %w", err)
	}
	live, err := NewLive(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	c, err := DialTemporal(ctx, cfg, log, 2*time.Minute)
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.MetricsAddr != "" {
		stop, err := metrics.ServeAdmin(ctx, cfg.MetricsAddr, metrics.AdminHandler(map[string]metrics.Check{
			"temporal": func(ctx context.Context) error { _, err := c.CheckHealth(ctx, nil); return err },
			"storage":  store.Ping,
		}), log)
		if err != nil {
			return fmt.Errorf("metrics address %s: %w", cfg.MetricsAddr, err)
		}
		defer stop()
	}
	acts, err := NewActivities(ctx, cfg, store, live, log)
	if err != nil {
		return err
	}
	if adjust != nil {
		adjust(acts)
	}
	o, err := ProjectOptions(cfg, c, acts, log)
	if err != nil {
		return err
	}
	o.TaskQueue, o.BuildTaskQueue, o.Light, o.Build, o.BuildConcurrency = cfg.TaskQueue, cfg.BuildTaskQueue, light, build, cfg.BuildConcurrency
	o.Domains = NewDomainActivities(cfg, store, log)
	log.Info("worker starting", "task_queue", cfg.TaskQueue, "build_task_queue", cfg.BuildTaskQueue, "light", light, "build", build)
	return workers.Run(ctx, c, acts, o)
}

// NewGateway connects the gateway's clients and returns it with a function that closes them.
func NewGateway(ctx context.Context, cfg config.Config, log *slog.Logger, dashboard fs.FS) (*gateway.Server, func(), error) {
	store := NewStore(cfg)
	if err := EnsureBucket(ctx, store, log, 2*time.Minute); err != nil {
		return nil, nil, fmt.Errorf("object storage: %w", err)
	}
	if cfg.ServeS3AccessKey != "" {
		// Where the storage has bucket policies (versitygw, MinIO), the request handler's key
		// may read and nothing else; R2 has none, and a read-only API token does the same.
		// It may also write its TLS certificates under tls/ (SKYDEPLOY_SERVE_TLS=acme), unless
		// they have a bucket of their own (SKYDEPLOY_TLS_S3_BUCKET).
		var writable []string
		if cfg.TLSS3Bucket == "" {
			writable = append(writable, storage.TLSPrefix)
		}
		if err := store.GrantReadOnly(ctx, cfg.ServeS3AccessKey, writable...); err != nil {
			log.Info("no read-only bucket policy for the request handler's key (with R2, use an API token with Object Read only)", "error", err)
		}
	}
	live, err := NewLive(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := DialTemporal(ctx, cfg, log, 2*time.Minute)
	if err != nil {
		return nil, nil, err
	}
	ctl := control.New(c, control.SettingsFrom(cfg), log)
	// The schedule that removes stale uploads; a gateway without it still serves.
	if err := ctl.EnsureUploadCollection(ctx, cfg.UploadTTL); err != nil {
		log.Warn("the schedule collect-uploads could not be made or updated", "error", err)
	}
	gw := gateway.New(gateway.Deps{Config: cfg, Temporal: c, Control: ctl, Live: live, Store: store, Log: log, Dashboard: dashboard})
	wctx, stopWatch := context.WithCancel(context.Background())
	go gw.WatchBuildQueue(wctx)
	go rephasePollSchedules(wctx, ctl, store, cfg, log)
	return gw, func() { stopWatch(); c.Close(); _ = live.Client().Close() }, nil
}

// rephasePollSchedules gives poll schedules made before schedules had a phase their project's
// phase (control.RephaseSchedules), once per gateway start and in the background: a gateway
// serves while it runs, and every replica doing it is harmless (each update is conditional).
func rephasePollSchedules(ctx context.Context, ctl *control.Control, store *storage.Store, cfg config.Config, log *slog.Logger) {
	ps, err := projects.NewStore(store, cfg.SecretKey)
	if err != nil {
		log.Warn("poll schedules not rephased", "error", err)
		return
	}
	list, err := ps.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("poll schedules not rephased: listing projects failed", "error", err)
		}
		return
	}
	moved, err := ctl.RephaseSchedules(ctx, list)
	if moved > 0 {
		log.Info("poll schedules moved to their project's phase in the interval", "schedules", moved)
	}
	if err != nil && ctx.Err() == nil {
		log.Warn("some poll schedules not rephased", "error", err)
	}
}

// RunGateway runs the gateway (API and dashboard) until ctx ends.
func RunGateway(ctx context.Context, cfg config.Config, log *slog.Logger, dashboard fs.FS) error {
	gw, closeFn, err := NewGateway(ctx, cfg, log, dashboard)
	if err != nil {
		return err
	}
	defer closeFn()
	return gw.Run(ctx)
}

// RunServe runs the request handler until ctx ends. It reads object storage with its own
// read-only keys when they are set (the platform's are not its business), refuses placeholder
// secrets, and starts even when storage is down.
func RunServe(ctx context.Context, cfg config.Config) error {
	if cfg.ServeS3AccessKey != "" {
		cfg.S3AccessKey, cfg.S3SecretKey = cfg.ServeS3AccessKey, cfg.ServeS3SecretKey
	}
	if err := cfg.RefusePlaceholders(); err != nil {
		return err
	}
	return runServe(ctx, cfg, NewLogger(cfg, "serve"))
}

func runServe(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	store, readOnly := NewServeStore(cfg)
	if !readOnly {
		log.Warn("the request handler reads object storage with the platform's read-write keys; give it read-only ones (SKYDEPLOY_SERVE_S3_ACCESS_KEY, SKYDEPLOY_SERVE_S3_SECRET_KEY)")
	}
	h := servehandler.New(store, ServeOptions(cfg, log))
	log.Info("request handler listening", "addr", cfg.ServeAddr, "admin", cfg.ServeAdminAddr, "base_domain", cfg.BaseDomain)
	if cfg.ServeTLS == "acme" {
		return runServeTLS(ctx, cfg, h, store, log)
	}
	return servehandler.Run(ctx, h, cfg.ServeAddr, cfg.ServeAdminAddr)
}

// ServeOptions are the request handler's options from the configuration.
func ServeOptions(cfg config.Config, log *slog.Logger) servehandler.Options {
	return servehandler.Options{
		BaseDomain: cfg.BaseDomain, CacheBytes: cfg.ServeCacheBytes, AliasTTL: cfg.AliasTTL, Log: log,
		AccessLogEvery: cfg.ServeAccessLogEvery, MaxCachedFileBytes: cfg.ServeMaxCachedFileBytes,
		DiskCacheDir: filepath.Join(cfg.WorkDir, "serve-cache"), DiskCacheBytes: serveDiskCacheBytes(cfg),
	}
}

// serveDiskCacheBytes maps the setting (0 = off) to servehandler's option (negative = off).
func serveDiskCacheBytes(cfg config.Config) int64 {
	if cfg.ServeDiskCacheBytes <= 0 {
		return -1
	}
	return cfg.ServeDiskCacheBytes
}

// TemporalClient dials Temporal for tools and tests.
func TemporalClient(ctx context.Context, cfg config.Config, log *slog.Logger) (client.Client, error) {
	return DialTemporal(ctx, cfg, log, 30*time.Second)
}
