package testenv

import (
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/livestatus"
)

func newLive(cfg config.Config) (*livestatus.Store, error) {
	return livestatus.Open(cfg.RedisURL, cfg.RedisPrefix, cfg.LiveTTL, cfg.LogMaxLines)
}
