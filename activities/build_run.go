package activities

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/egress"
	"github.com/skydeploy/skydeploy/internal/metrics"
	"github.com/skydeploy/skydeploy/internal/sandbox"
	"github.com/skydeploy/skydeploy/workflows"
)

// tailLines is how many of the last output lines a failure message carries, so that the
// Temporal UI and the dashboard show why a build failed without opening the log.
const tailLines = 20

// runStep runs one command (install or build) in the sandbox in the project's directory,
// streaming its output to the step log, and maps its failure to a readable activity error.
// With egress the command's only way out is a proxy of its own (see stepEgress).
func (b *build) runStep(ctx context.Context, step, command string, egress bool, env map[string]string, deadline time.Time) error {
	plan := b.in.Plan
	lim := b.a.sandboxLimits()
	if !deadline.IsZero() {
		lim.WallTime = time.Until(deadline)
		if lim.WallTime <= 0 {
			return permanent(workflows.ErrLimitExceeded, "%s", b.a.wallTimeError().Error())
		}
	}
	bs := b.a.Settings.Build
	opts := sandbox.Options{
		Mode: bs.Sandbox, User: bs.User, Env: env, Limits: lim, ResourceControl: bs.ResourceControl,
		HostNetwork: bs.HostNetwork,
	}
	var proxy *egressProxy
	if egress && !bs.HostNetwork {
		proxy = b.stepEgress(step)
		opts.Egress = proxy.Proxy
	} else if !egress {
		b.log.Printf("Network: none in the %s step (SKYDEPLOY_BUILD_EGRESS=off)", step)
	}
	script, extra := shellScript(plan, command)
	opts.ExtraReadOnly = extra
	b.log.Printf("Running %s: %s", step, command)

	tail := newLineTail(tailLines)
	scripts := newSkippedScriptsCollector()
	res, err := sandbox.Run(ctx, b.ws, script, opts, func(l sandbox.Line) {
		if l.Stream != "system" {
			tail.add(b.log.mask(l.Text))
			if step == "install" {
				scripts.add(l.Text)
			}
		}
		b.log.Line(l.Stream, l.Text)
	})
	if step == "install" && ctx.Err() == nil {
		deps, _ := cacheDirs(plan)
		if msg := installScriptsSummary(plan.PackageManager, installScriptsIn(b.ws, deps, 50_000), scripts.skipped); msg != "" {
			b.log.Printf("%s", msg)
		}
	}
	var egressBytes int64
	var refused, upstreamFailures int
	if proxy != nil {
		st := proxy.Stats()
		egressBytes, refused, upstreamFailures = st.Bytes, st.Refused, st.UpstreamFailures
		b.log.Printf("%s", st.Summary())
	}
	metrics.BuildStep(step, res.PeakMemoryBytes, egressBytes, refused)
	usage := fmt.Sprintf("peak memory %s, CPU %s", bytesize.Format(res.PeakMemoryBytes), res.CPUTime.Round(10*time.Millisecond))
	if err == nil {
		b.log.Printf("%s finished in %s (%s)", capitalize(step), res.Duration.Round(10*time.Millisecond), usage)
		return nil
	}
	b.log.Printf("%s stopped after %s (%s)", capitalize(step), res.Duration.Round(10*time.Millisecond), usage)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var le *sandbox.LimitError
	var ee *sandbox.ExitError
	switch {
	case errors.As(err, &le):
		if le.Limit == sandbox.LimitWallTime {
			le = b.a.wallTimeError()
		}
		return permanent(workflows.ErrLimitExceeded, "%s command stopped: %s", step, le.Error())
	case errors.As(err, &ee) && upstreamFailures > 0:
		// The command failed and the network failed it: a registry unreachable is the
		// platform's trouble, retried and then put before an operator, not the project's.
		b.log.Printf("The %s step failed while %d connections to allowed hosts failed on the network's side: retrying later", step, upstreamFailures)
		return temporal.NewApplicationError(fmt.Sprintf("%s command failed while allowed hosts were unreachable (%d connections failed on the network's side)", step, upstreamFailures), "RegistryUnreachable")
	case errors.As(err, &ee):
		what := fmt.Sprintf("exited with code %d", ee.Code)
		if ee.Signal != "" {
			what = "was killed by signal " + ee.Signal
		}
		msg := fmt.Sprintf("%s command %s", step, what)
		if t := tail.text(); t != "" {
			msg += "; last lines of its output:\n" + t
		}
		return permanent(workflows.ErrBuildFailed, "%s", msg)
	}
	// The sandbox itself could not run (missing workspace permissions, prlimit...): a problem
	// of this worker, which another attempt (maybe on another worker) may not have.
	return fmt.Errorf("run %s in the sandbox: %w", step, err)
}

// egressProxy is one step's egress proxy.
type egressProxy struct{ *egress.Proxy }

// stepEgress makes the proxy of one step: the configured allow-list (or any public address),
// never the platform's own addresses, the byte budget, and one log line per refusal.
func (b *build) stepEgress(step string) *egressProxy {
	bs := b.a.Settings.Build
	return &egressProxy{egress.New(egress.Options{
		Policy:   egress.Policy{Allow: bs.Egress.Allow, Deny: bs.PlatformAddresses, MaxBytes: bs.EgressBytes},
		Resolver: bs.Resolver,
		OnRefused: func(r *egress.Refusal) {
			b.log.Line("system", "Egress refused ("+step+"): "+r.Describe())
		},
	})}
}

// shellScript wraps the command: corepack shims for pnpm and yarn when the plan asks for them,
// a generator's tool on PATH, and the project's directory. It returns host directories to make
// visible read-only in the sandbox.
func shellScript(p detect.Plan, command string) (string, []string) {
	var parts []string
	var extra []string
	if p.Tool != "" {
		if bin, err := exec.LookPath(p.Tool); err == nil {
			if abs, err := filepath.Abs(bin); err == nil {
				if real, err := filepath.EvalSymlinks(abs); err == nil {
					abs = real
				}
				dir := filepath.Dir(abs)
				if !strings.HasPrefix(dir, "/usr/") && dir != "/bin" && dir != "/sbin" {
					extra = append(extra, dir)
					parts = append(parts, "export PATH="+shellQuote(dir)+":\"$PATH\"")
				}
			}
		}
	}
	if p.Corepack && p.PackageManager != detect.NPM && p.PackageManager != "" {
		// Shims in <workspace>/.skydeploy/bin (HOME is <workspace>/.skydeploy/home); the package
		// manager itself is downloaded into COREPACK_HOME during the install, which has network.
		parts = append(parts,
			`mkdir -p "$HOME/../bin"`,
			`corepack enable --install-directory "$HOME/../bin"`,
			`export PATH="$HOME/../bin:$PATH"`)
	}
	if d := projectDir(p); d != "" {
		parts = append(parts, "cd "+shellQuote(d))
	}
	if len(parts) == 0 {
		return command, extra
	}
	return strings.Join(parts, " && ") + " && " + command, extra
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sandboxLimits are the limits of one command.
func (a *Activities) sandboxLimits() sandbox.Limits {
	bs := a.Settings.Build
	l := sandbox.Limits{
		MemoryBytes:       bs.MemoryBytes,
		CPUSeconds:        bs.CPUSeconds,
		CPUs:              bs.CPUs,
		MaxOutputBytes:    bs.MaxLogBytes,
		MaxFiles:          bs.MaxWorkspaceFiles,
		MaxWorkspaceBytes: bs.MaxWorkspaceBytes,
		MaxFileBytes:      bs.MaxFileBytes,
		MaxProcesses:      bs.MaxProcesses,
	}
	// Defaults: node_modules of a large app holds 100k+ files and native binaries of 100+ MiB
	// (Next.js's SWC), far more than a published site may.
	if l.MaxFiles == 0 {
		l.MaxFiles = max(4*a.Settings.MaxFiles, 400_000)
	}
	if l.MaxWorkspaceBytes == 0 {
		l.MaxWorkspaceBytes = max(2*(a.Settings.MaxRepoBytes+a.Settings.MaxSiteBytes), 4<<30) + 2*bs.CacheBytes
	}
	if l.MaxFileBytes == 0 {
		l.MaxFileBytes = max(a.Settings.MaxFileBytes, 1<<30)
	}
	if l.MaxProcesses == 0 {
		// Processes and threads of the whole build (a pids cgroup, or the watchdog's count);
		// node alone runs about a dozen threads per process.
		l.MaxProcesses = 4096
	}
	return l
}

// wallTimeError names the configured limit (a command gets what is left of it).
func (a *Activities) wallTimeError() *sandbox.LimitError {
	return &sandbox.LimitError{Limit: sandbox.LimitWallTime, Value: a.Settings.Build.Timeout.String(), Setting: "SKYDEPLOY_BUILD_TIMEOUT"}
}

// lineTail keeps the last n lines of output.
type lineTail struct {
	mu    sync.Mutex
	n     int
	lines []string
}

func newLineTail(n int) *lineTail { return &lineTail{n: n} }

func (t *lineTail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	t.lines = append(t.lines, s)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *lineTail) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// heartbeat records an activity heartbeat every interval until stopped: cancellation reaches
// the activity only through heartbeats, and a lost worker is noticed by their absence.
type heartbeat struct {
	mu    sync.Mutex
	phase string
	done  chan struct{}
	wg    sync.WaitGroup
}

func startHeartbeat(ctx context.Context, every time.Duration) *heartbeat {
	h := &heartbeat{phase: "starting", done: make(chan struct{})}
	if !activity.IsActivity(ctx) {
		return h
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				p := h.phase
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, p)
			}
		}
	}()
	return h
}

func (h *heartbeat) set(phase string) {
	h.mu.Lock()
	h.phase = phase
	h.mu.Unlock()
}

func (h *heartbeat) stop() {
	close(h.done)
	h.wg.Wait()
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
