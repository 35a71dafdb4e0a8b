// Package platform starts SkyDeploy's roles from a Config: the same code runs them as
// sub-commands of the binary, all together under `skydeploy dev`, and in-process in the
// end-to-end tests.
package platform

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/app"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/metrics"
	"github.com/skydeploy/skydeploy/internal/sandbox"
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
		warning, mechanism, err := sandbox.Check(sandbox.Options{Mode: cfg.Sandbox, User: cfg.BuildUser, ResourceControl: app.BuildControl(cfg)})
		if err != nil {
			return fmt.Errorf("build worker refuses to start: %w", err)
		}
		if warning != "" {
			log.Warn(warning)
		}
		log.Info("build limits", "mechanism", mechanism)
	}
	store := app.NewStore(cfg)
	if err := app.EnsureBucket(ctx, store, log, 2*time.Minute); err != nil {
		return fmt.Errorf("object storage: %w", err)
	}
	live, err := app.NewLive(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	c, err := app.DialTemporal(ctx, cfg, log, 2*time.Minute)
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
	acts, err := app.NewActivities(ctx, cfg, store, live, log)
	if err != nil {
		return err
	}
	if adjust != nil {
		adjust(acts)
	}
	extra, err := workers.NewExtra(cfg, c, acts)
	if err != nil {
		return err
	}
	log.Info("worker starting", "task_queue", cfg.TaskQueue, "build_task_queue", cfg.BuildTaskQueue, "light", light, "build", build)
	return workers.Run(ctx, c, acts, workers.Options{
		TaskQueue: cfg.TaskQueue, BuildTaskQueue: cfg.BuildTaskQueue, Light: light, Build: build, BuildConcurrency: cfg.BuildConcurrency,
		Extra: extra,
	})
}

// NewGateway connects the gateway's clients and returns it with a function that closes them.
func NewGateway(ctx context.Context, cfg config.Config, log *slog.Logger, dashboard fs.FS) (*gateway.Server, func(), error) {
	store := app.NewStore(cfg)
	if err := app.EnsureBucket(ctx, store, log, 2*time.Minute); err != nil {
		return nil, nil, fmt.Errorf("object storage: %w", err)
	}
	if cfg.ServeS3AccessKey != "" {
		// Where the storage has bucket policies (versitygw, MinIO), the request handler's key
		// may read and nothing else; R2 has none, and a read-only API token does the same.
		if err := store.GrantReadOnly(ctx, cfg.ServeS3AccessKey); err != nil {
			log.Info("no read-only bucket policy for the request handler's key (with R2, use an API token with Object Read only)", "error", err)
		}
	}
	live, err := app.NewLive(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := app.DialTemporal(ctx, cfg, log, 2*time.Minute)
	if err != nil {
		return nil, nil, err
	}
	gw := gateway.New(gateway.Deps{Config: cfg, Temporal: c, Live: live, Store: store, Log: log, Dashboard: dashboard})
	wctx, stopWatch := context.WithCancel(context.Background())
	go gw.WatchBuildQueue(wctx)
	return gw, func() { stopWatch(); c.Close(); _ = live.Client().Close() }, nil
}

// TemporalClient dials Temporal for tools and tests.
func TemporalClient(ctx context.Context, cfg config.Config, log *slog.Logger) (client.Client, error) {
	return app.DialTemporal(ctx, cfg, log, 30*time.Second)
}
