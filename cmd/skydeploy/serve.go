package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/skydeploy/skydeploy/internal/config"
)

func runServe(ctx context.Context, args []string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	return serveRole(ctx, cfg, slog.Default())
}

func serveRole(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return errors.New("request handler not wired yet")
}
