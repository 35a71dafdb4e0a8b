// Command skydeploy is SkyDeploy in one binary: each role is a sub-command (gateway, worker,
// serve), `dev` runs the whole platform locally, and the rest is the command-line client. It
// parses arguments and dispatches: internal/platform assembles the roles, internal/apiclient
// talks to a gateway. It must never build a client of Temporal, Redis or object storage itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/version"
	"github.com/skydeploy/skydeploy/web"
)

const usage = `skydeploy: deploy web projects from git repositories and folders

Roles (each reads its settings from SKYDEPLOY_* environment variables; see README.md):
  skydeploy dev                 run the whole platform locally (Temporal, Redis, S3, all roles)
  skydeploy gateway             the API and dashboard
  skydeploy worker [--light-only|--build-only]
                                Temporal workers: deployment workflows and light steps, builds
  skydeploy serve               the request handler that serves deployed sites
  skydeploy token create [--scope deploy|read] [--name NAME]
                                create an API token (printed once, stored hashed)

Client (talks to a gateway at $SKYDEPLOY_API_URL, token in $SKYDEPLOY_TOKEN or from skydeploy login):
  skydeploy login [--api URL] [--token T]
  skydeploy deploy [DIR] [--prebuilt] [--project P [--prod]] [--root-dir D] [--build-command C] [--no-follow]
                                upload a folder (default .: .gitignore and .skydeployignore
                                honoured; only changed files are sent) and deploy it
  skydeploy deploy <repo-url> [--branch B] [--root-dir D] [--build-command C] [--output-dir D] [--no-follow]
  skydeploy ls [--project P] [--status S] [--limit N] [--json]
  skydeploy logs [-f] <id> | cancel <id> | redeploy <id> | rollback <project> <deployment-id>
  skydeploy retry <id> | abandon <id> [--reason R]   a deployment that needs attention
  skydeploy projects ls | show | create | update | delete | deploy | pause | resume | poll
  skydeploy domains ls <project> | add <project> <domain> | verify <project> <domain> [--wait 2m]
                    | rm <project> <domain>
                                custom domains: verified by a DNS TXT record, served over HTTPS
  skydeploy projects create|update <name> [--env KEY=VALUE] [--plain-env KEY=VALUE]
                    [--env-target KEY=production|preview|all] [--unset-env KEY]
                                --env is secret (masked; production builds unless targeted),
                                --plain-env is shown as it is (every build unless targeted)

  skydeploy healthcheck <url>   exit 0 when url answers 2xx (for container health checks)
  skydeploy version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "dev":
		err = runDev(ctx, args)
	case "gateway":
		err = runGateway(ctx, args)
	case "worker":
		err = runWorker(ctx, args)
	case "serve":
		err = runServe(ctx, args)
	case "token":
		err = runToken(ctx, args)
	case "healthcheck":
		err = runHealthcheck(ctx, args)
	case "version":
		fmt.Println("skydeploy", version.Version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		if client, ok := clientCommands[cmd]; ok {
			err = client(ctx, args)
			break
		}
		fmt.Fprintf(os.Stderr, "skydeploy: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		fmt.Fprintln(os.Stderr, "skydeploy:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a code without printing more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func loadConfig() (config.Config, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// loadRoleConfig is the configuration of a server role (gateway, worker, serve): placeholder
// secrets are refused, which only `skydeploy dev` may run on.
func loadRoleConfig() (config.Config, error) {
	cfg, err := loadConfig()
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.RefusePlaceholders()
}

func runGateway(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ExitOnError)
	addr := fs.String("addr", "", "listen address (overrides SKYDEPLOY_GATEWAY_ADDR)")
	_ = fs.Parse(args)
	cfg, err := loadRoleConfig()
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.GatewayAddr = *addr
	}
	return platform.RunGateway(ctx, cfg, platform.NewLogger(cfg, "gateway"), web.Dist())
}

func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	lightOnly := fs.Bool("light-only", false, "run only the deployment workflows and light steps")
	buildOnly := fs.Bool("build-only", false, "run only builds (the build task queue)")
	_ = fs.Parse(args)
	cfg, err := loadRoleConfig()
	if err != nil {
		return err
	}
	if *lightOnly && *buildOnly {
		return errors.New("--light-only and --build-only exclude each other")
	}
	role := "worker"
	if *buildOnly {
		role = "build-worker"
	}
	return platform.RunWorker(ctx, cfg, platform.NewLogger(cfg, role), !*buildOnly, !*lightOnly)
}

// runServe runs the request handler; platform.RunServe swaps in its read-only storage keys
// before refusing placeholder secrets.
func runServe(ctx context.Context, _ []string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	return platform.RunServe(ctx, cfg)
}

// runDev runs the whole platform on this machine (platform.RunDev).
func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ExitOnError)
	dataDir := fs.String("data", ".data", "directory for Temporal's database, objects and work files")
	binDir := fs.String("bin", "bin", "directory of the temporal and versitygw binaries (make tools)")
	_ = fs.Parse(args)
	return platform.RunDev(ctx, platform.DevOptions{DataDir: *dataDir, BinDir: *binDir, Dashboard: web.Dist()})
}

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
	tok, rec, err := platform.CreateToken(ctx, cfg, *name, *scope)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Created a %s token %q. It is shown only now; store it safely:\n", rec.Scope, rec.Name)
	fmt.Println(tok)
	return nil
}
