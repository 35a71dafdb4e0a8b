package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/egress"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/snapshot"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// BuildSettings configure the sandboxed build.
type BuildSettings struct {
	Timeout     time.Duration // wall time of install and build together
	MemoryBytes int64
	CPUSeconds  int64
	MaxLogBytes int64 // output each of install and build may print
	User        string
	Sandbox     string  // sandbox.ModeBwrap or sandbox.ModeNone
	CPUs        float64 // CPU bandwidth of a build where cgroups allow it (0: no cap)
	// ResourceControl is sandbox.ControlAuto (a cgroup per build step where the worker can make
	// one, else the watchdog) or sandbox.ControlWatchdog.
	ResourceControl string
	CacheBytes      int64 // largest build cache archive kept per project (0: no cache)
	Concurrency     int

	// Egress is the network policy of install and build (SKYDEPLOY_BUILD_EGRESS); EgressBytes
	// bounds the traffic of each step through its proxy; PlatformAddresses are the platform's
	// own services, which the proxy refuses whatever the allow-list says.
	Egress            egress.Setting
	EgressBytes       int64
	PlatformAddresses []netip.AddrPort
	// Resolver resolves names for the egress proxy (nil: the system's).
	Resolver egress.Resolver
	// HostNetwork gives install and build the worker's own network, without the proxy: only for
	// measuring what the proxy costs (bench/build), never for untrusted code.
	HostNetwork bool

	// Workspace limits of the build. They cover node_modules and package-manager caches, so
	// they are larger than the source and output limits; zero picks defaults derived from
	// Settings (see workspaceLimits).
	MaxWorkspaceFiles int
	MaxWorkspaceBytes int64
	MaxFileBytes      int64
	MaxProcesses      int
	// LocalCacheBytes bounds the worker's local cache directory (WorkDir/cache); zero means
	// 8 × CacheBytes. The least recently used archives go first.
	LocalCacheBytes int64
}

// ProjectSource gives a build what it needs of its project's settings (*projects.Store is
// one): the repository, whether the branch is production, and that environment's variables.
type ProjectSource interface {
	BuildSettings(ctx context.Context, project, branch string) (projects.BuildSettings, error)
}

// BuildProject builds a stored source snapshot on this build worker and stores the output as the
// deployment's artifact archive, whose root holds exactly the files to publish:
//
//  1. a fresh workspace WorkDir/builds/<id>-<attempt>/ws receives the source snapshot;
//  2. the project's build cache is restored (local disk, then object storage);
//  3. the install command, then the build command, run in the sandbox, each in its own network
//     namespace whose only way out is an egress proxy of this worker (SKYDEPLOY_BUILD_EGRESS),
//     with a clean environment plus the project's build variables, under limits that count
//     the whole step (a cgroup, or the watchdog), every output line streamed to the step log;
//  4. the output directory is read without following links out of it, packed and uploaded;
//  5. the cache is saved right after the install, before any build code runs (see
//     build_cache.go for what is cached and whose cache a build may write), and the
//     workspace is removed at the end.
//
// The build's own failures (non-zero exit, limits, missing or unsafe output) are permanent;
// storage failures are retried; cancellation stops the build's processes and returns at once.
func (a *Activities) BuildProject(ctx context.Context, in workflows.BuildInput) (workflows.BuildResult, error) {
	start := time.Now()
	log := a.newStepLog(ctx, in.DeploymentID, workflows.StepBuild)
	defer log.Close(ctx)
	hb := startHeartbeat(ctx, 5*time.Second)
	defer hb.stop()

	b := &build{a: a, in: in, log: log, hb: hb, timing: newTiming()}
	res, err := b.run(ctx)
	res.Duration = time.Since(start)
	b.timing.total = res.Duration
	log.Printf("timing: %s", b.timing)
	if err != nil {
		if ctx.Err() != nil {
			log.Printf("Build canceled")
			return res, ctx.Err()
		}
		log.Printf("Build failed: %s", reasonOf(err))
		return res, err
	}
	return res, nil
}

// build is one run of BuildProject.
type build struct {
	a      *Activities
	in     workflows.BuildInput
	log    *stepLog
	hb     *heartbeat
	timing *timing

	dir string // WorkDir/builds/<id>-<attempt>: root-owned, holds ws and temp files
	ws  string // the sandbox workspace (owned by the build user while commands run)
}

func (b *build) run(ctx context.Context) (workflows.BuildResult, error) {
	var res workflows.BuildResult
	in, plan := b.in, b.in.Plan
	if err := checkBuildInput(in); err != nil {
		return res, err
	}
	settings, err := b.projectSettings(ctx)
	if err != nil {
		return res, err
	}
	b.log.maskSecrets(newSecretMasker(settings.Secrets))
	b.logPlan(ctx)
	if plan.Kind == detect.KindGenerator && plan.Tool != "" {
		if _, err := exec.LookPath(plan.Tool); err != nil {
			return res, permanent(workflows.ErrUnsupportedProject, "this project needs %s, which build workers here do not have", plan.Tool)
		}
	}

	if err := b.makeWorkspace(ctx); err != nil {
		return res, err
	}
	defer b.removeWorkspace()

	b.hb.set("download")
	t := time.Now()
	if err := b.a.download(ctx, in.SourceKey, b.ws); err != nil {
		return res, err
	}
	b.timing.download = time.Since(t)
	env := b.buildEnv(settings.Env)

	// Cache.
	b.hb.set("restore cache")
	t = time.Now()
	cache := b.cachePlan(ctx, settings.Production)
	hit := cache.restore(ctx)
	res.CacheHit = hit
	b.timing.restore = time.Since(t)

	// Install and build, within one wall-time budget.
	deadline := time.Time{}
	if b.a.Settings.Build.Timeout > 0 {
		deadline = time.Now().Add(b.a.Settings.Build.Timeout)
	}
	cmd := installCommand(plan, hit)
	if cmd == "" && plan.InstallCommand != "" {
		b.log.Printf("Dependencies restored from the build cache (exact lockfile match): %s skipped", plan.InstallCommand)
	}
	if cmd != "" {
		b.hb.set("install")
		t = time.Now()
		installEnv := env
		if extra := cache.installEnv(); len(extra) > 0 {
			installEnv = maps.Clone(env)
			maps.Copy(installEnv, extra)
			b.log.Printf("Package downloads restored: the install takes what they hold without asking the registry again (npm_config_prefer_offline)")
		}
		err := b.runStep(ctx, "install", cmd, true, installEnv, deadline)
		b.timing.install = time.Since(t)
		if err != nil {
			return res, err
		}
		// Saved before any build code runs, so the build's scripts cannot change what later
		// builds restore.
		b.hb.set("save cache")
		t = time.Now()
		cache.saveAfterInstall(ctx)
		b.timing.save = time.Since(t)
	}
	if plan.BuildCommand != "" {
		b.hb.set("build")
		t = time.Now()
		err := b.runStep(ctx, "build", plan.BuildCommand, b.a.Settings.Build.Egress.BuildStep, env, deadline)
		b.timing.build = time.Since(t)
		if err != nil {
			return res, err
		}
	}

	b.hb.set("pack output")
	t = time.Now()
	art, err := b.packOutput(ctx)
	b.timing.output = time.Since(t)
	if err != nil {
		return res, err
	}
	defer os.Remove(art.path)

	b.hb.set("upload")
	t = time.Now()
	key := storage.ArtifactKey(in.DeploymentID)
	if err := b.upload(ctx, key, art.path); err != nil {
		return res, err
	}
	b.timing.upload = time.Since(t)
	b.log.Printf("Uploaded build output: %d files, %s (%s compressed)", art.files, bytesize.Format(art.bytes), bytesize.Format(art.size))
	res.ArtifactKey, res.Files, res.Bytes = key, art.files, art.bytes
	return res, nil
}

// checkPlanPaths refuses a plan whose directories could leave the workspace.
func checkPlanPaths(p detect.Plan) error {
	for name, d := range map[string]string{"root directory": p.RootDir, "output directory": p.OutputDir} {
		if d != "" && d != "." && !snapshot.SafeRelPath(d) {
			return permanent(workflows.ErrInvalidInput, "%s %q is not a relative path inside the repository", name, d)
		}
	}
	for _, d := range p.OutputCandidates {
		if d != "" && d != "." && !snapshot.SafeRelPath(d) {
			return permanent(workflows.ErrInvalidInput, "output directory %q is not a relative path inside the repository", d)
		}
	}
	return nil
}

func (b *build) logPlan(ctx context.Context) {
	p := b.in.Plan
	name := p.FrameworkName
	if name == "" {
		name = p.Framework
	}
	if name == "" {
		name = string(p.Kind)
	}
	b.log.Printf("Building %s project in %s", name, displayDir(p.RootDir))
	if p.PackageManager != "" {
		pm := p.PackageManager
		if p.PackageManagerVersion != "" {
			pm += "@" + p.PackageManagerVersion
		}
		b.log.Printf("Package manager: %s", pm)
	}
	if p.InstallCommand != "" {
		b.log.Printf("Install command: %s", p.InstallCommand)
	}
	if p.BuildCommand != "" {
		b.log.Printf("Build command: %s", p.BuildCommand)
	}
	b.log.Printf("Output directory: %s", displayDir(strings.Join(outputCandidates(p), " or ")))
	if v := nodeVersion(ctx); v != "" && (p.Kind == detect.KindNode || p.InstallCommand != "") {
		b.log.Printf("Node %s", v)
		if note, ok := detect.CheckNode(p, v); !ok {
			b.log.Line("stderr", "warning: "+note)
		}
	}
}

// makeWorkspace creates WorkDir/builds/<id>-<attempt>/ws. WorkDir, builds/ and the build's
// directory get search permission for others, so that the unprivileged build user can reach
// the workspace; none is made listable by it.
func (b *build) makeWorkspace(ctx context.Context) error {
	attempt := int32(1)
	if activity.IsActivity(ctx) {
		attempt = activity.GetInfo(ctx).Attempt
	}
	base, err := filepath.Abs(b.a.Settings.WorkDir)
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	builds := filepath.Join(base, "builds")
	b.dir = filepath.Join(builds, fmt.Sprintf("%s-%d", b.in.DeploymentID, attempt))
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("clear build dir: %w", err)
	}
	if err := os.MkdirAll(b.dir, 0o711); err != nil {
		return fmt.Errorf("create build dir: %w", err)
	}
	// WorkDir and below are the platform's own; directories above it are the operator's, and
	// the sandbox says clearly which one the build user cannot search.
	for _, d := range []string{base, builds, b.dir} {
		if err := ensureSearchable(d); err != nil {
			return err
		}
	}
	b.ws = filepath.Join(b.dir, "ws")
	if err := os.Mkdir(b.ws, 0o755); err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	return nil
}

// ensureSearchable adds the search bits to a directory when the build user may lack them.
func ensureSearchable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	if fi.Mode().Perm()&0o011 == 0o011 || os.Geteuid() != 0 {
		return nil
	}
	if err := os.Chmod(dir, fi.Mode().Perm()|0o011); err != nil {
		return fmt.Errorf("work dir %s must be searchable by the build user: %w", dir, err)
	}
	return nil
}

func (b *build) removeWorkspace() {
	if b.dir == "" {
		return
	}
	if err := os.RemoveAll(b.dir); err != nil {
		b.a.logger().Warn("remove build workspace", "dir", b.dir, "error", err)
	}
}

// checkBuildInput refuses input a workflow started by hand could forge: a deployment id that
// is not one (it names directories and object keys), a source outside the deployment's own
// key, directories that leave the workspace.
func checkBuildInput(in workflows.BuildInput) error {
	if !ids.IsDeployment(in.DeploymentID) {
		return permanent(workflows.ErrInvalidInput, "refusing to build: %q is not a deployment id", in.DeploymentID)
	}
	if want := storage.SourceKey(in.DeploymentID); in.SourceKey != want {
		return permanent(workflows.ErrInvalidInput, "refusing to build %s from %q: a deployment builds only its own source snapshot (%s)", in.DeploymentID, in.SourceKey, want)
	}
	return checkPlanPaths(in.Plan)
}

// projectSettings reads what the build needs of its project: whether it is the production
// build (from the project's production branch, not from the workflow's word), the variables of
// that environment and the secrets to mask. A project whose repository is not the deployment's
// gives it nothing.
func (b *build) projectSettings(ctx context.Context) (projects.BuildSettings, error) {
	in := b.in
	if in.Project == "" || b.a.Projects == nil {
		return projects.BuildSettings{Env: map[string]string{}}, nil
	}
	s, err := b.a.Projects.BuildSettings(ctx, in.Project, in.Branch)
	if errors.Is(err, projects.ErrNotFound) {
		return s, permanent(workflows.ErrInvalidInput, "project %s does not exist (was it deleted while this deployment ran?)", in.Project)
	}
	if err != nil {
		return s, transient("ProjectSettingsUnavailable", err, "read the settings of project %s", in.Project)
	}
	if !repourl.SameRepository(s.RepoURL, in.RepoURL) {
		return s, permanent(workflows.ErrInvalidInput, "refusing to build %s with the settings of project %s, whose repository is %s", in.RepoURL, in.Project, s.RepoURL)
	}
	if s.Production {
		b.log.Printf("Environment: production (branch %s is the production branch of %s)", in.Branch, in.Project)
	} else {
		b.log.Printf("Environment: preview of branch %s (production's secrets and caches are not written by previews)", in.Branch)
	}
	if len(s.Env) > 0 {
		names := make([]string, 0, len(s.Env))
		for k := range s.Env {
			names = append(names, k)
		}
		b.log.Printf("Build environment: %d variables from the project settings (%s); %d secret values are masked in this log",
			len(names), strings.Join(sortedStrings(names), ", "), len(s.Secrets))
	}
	return s, nil
}

// buildEnv is the environment of install and build: package-manager quieting and the
// project's variables on top. Values are never logged.
func (b *build) buildEnv(project map[string]string) map[string]string {
	env := map[string]string{
		"COREPACK_ENABLE_DOWNLOAD_PROMPT": "0",
		"COREPACK_ENABLE_AUTO_PIN":        "0",
		"npm_config_fund":                 "false",
		"npm_config_audit":                "false",
		"npm_config_progress":             "false",
	}
	for k, v := range project {
		env[k] = v
	}
	return env
}

// installCommand is the install to run. With npm's node_modules restored from an exact cache hit
// (same project, lockfile, package manager and Node major) the default `npm ci` would only delete
// and recreate the same tree, so it is skipped; node_modules is self-contained with npm. Other
// package managers keep state outside node_modules (pnpm's store links, Yarn PnP), and commands a
// project set itself are always run.
func installCommand(p detect.Plan, hit bool) string {
	if hit && p.PackageManager == detect.NPM && p.InstallCommand == "npm ci" {
		return ""
	}
	return p.InstallCommand
}

// projectDir is the plan's RootDir relative to the workspace ("" for the repository root).
func projectDir(p detect.Plan) string {
	d := strings.Trim(p.RootDir, "/")
	if d == "." {
		return ""
	}
	return path.Clean("/" + d)[1:]
}

func (b *build) upload(ctx context.Context, key, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open artifact: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat artifact: %w", err)
	}
	if err := b.a.Store.PutReader(ctx, key, f, fi.Size(), storage.PutOptions{ContentType: "application/gzip"}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.log.Printf("Upload failed, will retry: %v", err)
		return transient("StorageUnavailable", err, "upload build output")
	}
	return nil
}

// timing is the duration of each phase, logged as one line that benchmarks parse.
type timing struct {
	download, restore, install, build, save, output, upload, total time.Duration
}

func newTiming() *timing { return &timing{} }

func (t *timing) String() string {
	f := func(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
	return fmt.Sprintf("download=%s restore=%s install=%s build=%s save=%s output=%s upload=%s total=%s",
		f(t.download), f(t.restore), f(t.install), f(t.build), f(t.save), f(t.output), f(t.upload), f(t.total))
}
