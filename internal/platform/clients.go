package platform

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/metrics"
	"github.com/skydeploy/skydeploy/internal/storage"
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

// NewServeStore returns the request handler's object store: its own read-only credentials
// when configured, else the platform's (readOnly false says so).
func NewServeStore(cfg config.Config) (store *storage.Store, readOnly bool) {
	if cfg.ServeS3AccessKey == "" {
		return NewStore(cfg), false
	}
	return storage.New(storage.Options{
		Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket,
		AccessKey: cfg.ServeS3AccessKey, SecretKey: cfg.ServeS3SecretKey, PathStyle: cfg.S3PathStyle,
	}), true
}

// NewLive returns the live-status store of cfg (Redis). Connecting is lazy: a Redis that is down
// only degrades the live view.
func NewLive(cfg config.Config) (*livestatus.Store, error) {
	l, err := livestatus.Open(cfg.RedisURL, cfg.RedisPrefix, cfg.LiveTTL, cfg.LogMaxLines)
	if err != nil {
		return nil, fmt.Errorf("SKYDEPLOY_REDIS_URL: %w", err)
	}
	return l, nil
}

// DialTemporal connects to the Temporal frontend, retrying for up to wait.
func DialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, wait time.Duration) (client.Client, error) {
	tlsCfg, err := TemporalTLS(cfg)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:          cfg.TemporalAddress,
			Namespace:         cfg.TemporalNamespace,
			ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
			Logger:            tlog.NewStructuredLogger(log.With("component", "temporal")),
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

// TemporalTLS is the TLS configuration of connections to the Temporal frontend, or nil for
// plain gRPC when no TLS setting is given.
func TemporalTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.TemporalTLSCA == "" && cfg.TemporalTLSCert == "" && cfg.TemporalTLSKey == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServerName}
	if cfg.TemporalTLSCA != "" {
		pem, err := os.ReadFile(cfg.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("SKYDEPLOY_TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SKYDEPLOY_TEMPORAL_TLS_CA: %s holds no PEM certificate", cfg.TemporalTLSCA)
		}
		t.RootCAs = pool
	}
	if cfg.TemporalTLSCert != "" || cfg.TemporalTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("SKYDEPLOY_TEMPORAL_TLS_CERT/KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
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
