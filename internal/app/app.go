// Package app turns a Config into the clients every role needs — object storage, Redis and
// Temporal — and the logger, so that each role's Run gets its dependencies injected.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"

	"github.com/skydeploy/skydeploy/activities"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/metrics"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/servehandler"
	"github.com/skydeploy/skydeploy/workflows"
)

// NewLogger returns the slog logger the configuration asks for.
func NewLogger(cfg config.Config, role string) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("role", role)
}

// NewStore returns the object store of cfg.
func NewStore(cfg config.Config) *storage.Store {
	return storage.New(storage.Options{
		Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket,
		AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle,
	})
}

// NewLive returns the live-status store of cfg (Redis). Connecting is lazy: a Redis that is down
// only degrades the live view.
func NewLive(cfg config.Config) (*livestatus.Store, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("SKYDEPLOY_REDIS_URL: %w", err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 3 * time.Second
	opts.WriteTimeout = 3 * time.Second
	opts.MaxRetries = 1
	return livestatus.New(redis.NewClient(opts), cfg.RedisPrefix, cfg.LiveTTL, cfg.LogMaxLines), nil
}

// DialTemporal connects to the Temporal frontend, retrying for up to wait.
func DialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, wait time.Duration) (client.Client, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:  cfg.TemporalAddress,
			Namespace: cfg.TemporalNamespace,
			Logger:    tlog.NewStructuredLogger(log.With("component", "temporal")),
			// The SDK's worker and client metrics, and the deployments this process starts,
			// go to the process's Prometheus registry (served at /metrics).
			MetricsHandler: metrics.NewTemporalHandler(),
			Interceptors:   []interceptor.ClientInterceptor{metrics.StartInterceptor(deployTrigger)},
		})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
		}
		log.Warn("Temporal not reachable yet, retrying", "address", cfg.TemporalAddress, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// deployTrigger says whether a started workflow is a deployment, and its trigger.
func deployTrigger(workflowType string, args []any) (string, bool) {
	if workflowType != workflows.DeployWorkflowName || len(args) == 0 {
		return "", false
	}
	switch in := args[0].(type) {
	case workflows.DeployInput:
		return in.Trigger, true
	case *workflows.DeployInput:
		return in.Trigger, true
	}
	return "", true
}

// NewActivities wires the activities of a worker.
func NewActivities(cfg config.Config, store *storage.Store, live *livestatus.Store, log *slog.Logger) *activities.Activities {
	return &activities.Activities{
		Store: store,
		Live:  live,
		Log:   log,
		Settings: activities.Settings{
			WorkDir:         cfg.WorkDir,
			MaxRepoBytes:    cfg.MaxRepoBytes,
			MaxFileBytes:    cfg.MaxFileBytes,
			MaxFiles:        cfg.MaxFiles,
			MaxSiteBytes:    cfg.MaxSiteBytes,
			AllowPrivateGit: cfg.AllowPrivateGitHosts,
			GitHubToken:     cfg.GitHubToken,
			Build: activities.BuildSettings{
				Timeout: cfg.BuildTimeout, MemoryBytes: cfg.BuildMemoryBytes, CPUSeconds: cfg.BuildCPUSeconds,
				MaxLogBytes: cfg.BuildMaxLogBytes, User: cfg.BuildUser, Sandbox: cfg.BuildSandbox,
				CacheBytes: cfg.BuildCacheBytes, Concurrency: cfg.BuildConcurrency, MaxWorkspaceBytes: cfg.BuildMaxDiskBytes,
			},
		},
	}
}

// EnsureBucket creates the bucket, retrying while object storage comes up.
func EnsureBucket(ctx context.Context, store *storage.Store, log *slog.Logger, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := store.EnsureBucket(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		log.Warn("object storage not reachable yet, retrying", "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
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
