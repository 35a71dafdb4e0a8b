package main

import (
	"context"
	"log/slog"

	"github.com/skydeploy/skydeploy/internal/app"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/servehandler"
)

func runServe(ctx context.Context, args []string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if cfg.ServeS3AccessKey != "" {
		// The handler reads with its own keys only; the platform's are not its business.
		cfg.S3AccessKey, cfg.S3SecretKey = cfg.ServeS3AccessKey, cfg.ServeS3SecretKey
	}
	if err := cfg.RefusePlaceholders(); err != nil {
		return err
	}
	return serveRole(ctx, cfg, app.NewLogger(cfg, "serve"))
}

// serveRole runs the request handler: it reads object storage only and starts even when
// storage is down.
func serveRole(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	store, readOnly := app.NewServeStore(cfg)
	if !readOnly {
		log.Warn("the request handler reads object storage with the platform's read-write keys; give it read-only ones (SKYDEPLOY_SERVE_S3_ACCESS_KEY, SKYDEPLOY_SERVE_S3_SECRET_KEY)")
	}
	h := servehandler.New(store, app.ServeOptions(cfg, log))
	log.Info("request handler listening", "addr", cfg.ServeAddr, "admin", cfg.ServeAdminAddr, "base_domain", cfg.BaseDomain)
	return servehandler.Run(ctx, h, cfg.ServeAddr, cfg.ServeAdminAddr)
}
