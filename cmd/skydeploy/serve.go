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
	return serveRole(ctx, cfg, app.NewLogger(cfg, "serve"))
}

// serveRole runs the request handler: it reads object storage only and starts even when
// storage is down.
func serveRole(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	h := servehandler.New(app.NewStore(cfg), app.ServeOptions(cfg, log))
	log.Info("request handler listening", "addr", cfg.ServeAddr, "admin", cfg.ServeAdminAddr, "base_domain", cfg.BaseDomain)
	return servehandler.Run(ctx, h, cfg.ServeAddr, cfg.ServeAdminAddr)
}
