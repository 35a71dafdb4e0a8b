package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/app"
	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/config"
)

// runToken implements `skydeploy token create`: it writes the token's hash to object storage
// and prints the token once.
func runToken(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: skydeploy token create [--scope deploy|read] [--name NAME]")
	}
	fs := flag.NewFlagSet("token create", flag.ExitOnError)
	scope := fs.String("scope", auth.ScopeDeploy, "deploy (read and write) or read (read only)")
	name := fs.String("name", "", "a name to recognise the token by")
	_ = fs.Parse(args[1:])
	if !auth.ValidScope(*scope) {
		return fmt.Errorf("--scope must be %s or %s", auth.ScopeDeploy, auth.ScopeRead)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	store := app.NewStore(cfg)
	if err := app.EnsureBucket(ctx, store, app.NewLogger(cfg, "token"), 30*time.Second); err != nil {
		return err
	}
	if *name == "" {
		host, _ := os.Hostname()
		*name = "created on " + host + " at " + time.Now().UTC().Format(time.RFC3339)
	}
	tok, rec, err := auth.NewStore(store, "").Create(ctx, *name, *scope)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Created a %s token %q. It is shown only now; store it safely:\n", rec.Scope, rec.Name)
	fmt.Println(tok)
	return nil
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
	err := auth.NewStore(app.NewStore(cfg), "").Save(ctx, tok, auth.Token{Name: "make dev", Scope: auth.ScopeDeploy, Hint: tok[:8], CreatedAt: time.Now().UTC()})
	if err != nil {
		return "", err
	}
	return tok, nil
}
