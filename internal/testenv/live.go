package testenv

import (
	"github.com/skydeploy/skydeploy/internal/app"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/livestatus"
)

func newLive(cfg config.Config) (*livestatus.Store, error) { return app.NewLive(cfg) }
