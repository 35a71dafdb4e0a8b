package platform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/config"
)

// CreateToken makes an API token of scope named name (a default naming host and time when
// empty) and stores its hash in object storage; the token itself is returned once.
func CreateToken(ctx context.Context, cfg config.Config, name, scope string) (string, auth.Token, error) {
	store := NewStore(cfg)
	if err := EnsureBucket(ctx, store, NewLogger(cfg, "token"), 30*time.Second); err != nil {
		return "", auth.Token{}, err
	}
	if name == "" {
		host, _ := os.Hostname()
		name = "created on " + host + " at " + time.Now().UTC().Format(time.RFC3339)
	}
	return auth.NewStore(store, "").Create(ctx, name, scope)
}

// devToken returns the development API token, kept in <data>/dev-token so it survives restarts,
// and registers it in object storage.
func devToken(ctx context.Context, cfg config.Config, data string) (string, error) {
	if !cfg.RequireAuth {
		return "", nil
	}
	path := filepath.Join(data, "dev-token")
	tok := ""
	if b, err := os.ReadFile(path); err == nil {
		tok = strings.TrimSpace(string(b))
	}
	if !strings.HasPrefix(tok, "skd_") {
		tok = auth.Generate()
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	err := auth.NewStore(NewStore(cfg), "").Save(ctx, tok, auth.Token{Name: "make dev", Scope: auth.ScopeDeploy, Hint: tok[:8], CreatedAt: time.Now().UTC()})
	if err != nil {
		return "", err
	}
	return tok, nil
}
