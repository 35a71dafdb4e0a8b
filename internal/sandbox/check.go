package sandbox

import (
	"fmt"
	"net"
	"os"
)

// Check tells a build worker at start whether builds can run as opts asks, so that a worker
// whose sandbox cannot work refuses to start instead of failing (or, worse, running unsandboxed)
// at the first build. With Mode "bwrap" it finds bubblewrap and makes it create its namespaces
// as the build user, and prepares the egress relay; with Mode "none" it returns a warning to
// log. It also reports how resource limits will be enforced.
func Check(opts Options) (warning string, mechanism string, err error) {
	mode, err := modeOf(opts)
	if err != nil {
		return "", "", err
	}
	ws, err := os.MkdirTemp("", "skydeploy-sandbox-check-")
	if err != nil {
		return "", "", fmt.Errorf("sandbox: %w", err)
	}
	defer os.RemoveAll(ws)
	if err := os.Chmod(ws, 0o755); err != nil {
		return "", "", fmt.Errorf("sandbox: %w", err)
	}
	opts.Mode = mode
	opts.Egress = checkEgress{}
	if _, err := prepare(ws, opts); err != nil {
		return "", "", err
	}
	mech, why := CheckResourceControl(opts.ResourceControl)
	mechanism = mech
	if why != "" {
		mechanism += " (" + why + ")"
	}
	if mode == ModeNone {
		warning = "builds run WITHOUT a sandbox (SKYDEPLOY_SANDBOX=none): a repository's scripts can read this machine's files and reach its network, the platform's services included"
	}
	return warning, mechanism, nil
}

// checkEgress stands for a proxy in Check, so that the relay is prepared too.
type checkEgress struct{}

func (checkEgress) Serve(net.Listener) error { return nil }
func (checkEgress) Close() error             { return nil }
