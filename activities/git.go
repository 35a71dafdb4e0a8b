package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/gitfetch"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// CloneRepository fetches the repository at the requested branch or commit (shallow, within the
// size limit) and writes its tree into the deployment's workspace, recording the commit.
func (a *Activities) CloneRepository(ctx context.Context, in workflows.CloneInput) (workflows.CloneResult, error) {
	if err := checkDeploymentID(in.DeploymentID); err != nil {
		return workflows.CloneResult{}, err
	}
	defer keepAlive(ctx, 10*time.Second)()
	log := a.newStepLog(ctx, in.DeploymentID, workflows.StepClone)
	defer log.Close(ctx)
	what := "default branch"
	if in.Branch != "" {
		what = "branch " + in.Branch
	}
	if in.Commit != "" {
		what = "commit " + in.Commit
	}
	log.Printf("Cloning %s (%s)", in.RepoURL, what)
	res, err := a.checkout(ctx, in, log)
	if err != nil {
		log.Printf("Clone failed: %s", reasonOf(err))
		return res, err
	}
	log.Printf("Cloned commit %s by %s: %s", short(res.Commit.SHA), res.Commit.Author, firstLine(res.Commit.Message))
	log.Printf("%d files, %s", res.Files, bytesize.Format(res.Bytes))
	return res, nil
}

// checkout fetches and exports a commit into the deployment's workspace. The clone's git
// storage is written next to the source, on disk, and removed once the tree is exported.
func (a *Activities) checkout(ctx context.Context, in workflows.CloneInput, log *stepLog) (workflows.CloneResult, error) {
	var res workflows.CloneResult
	release, err := a.cloneSlot(ctx, log)
	if err != nil {
		return res, err
	}
	defer release()
	ws := a.workspace(in.DeploymentID)
	src, gitDir := filepath.Join(ws, "src"), filepath.Join(ws, "git")
	if err := os.RemoveAll(ws); err != nil {
		return res, fmt.Errorf("clear workspace: %w", err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return res, fmt.Errorf("create workspace: %w", err)
	}
	defer os.RemoveAll(gitDir)
	lim := gitfetch.Limits{MaxFiles: a.Settings.MaxFiles, MaxFileBytes: a.Settings.MaxFileBytes, MaxBytes: a.Settings.MaxRepoBytes}
	commit, err := gitfetch.Fetch(ctx, gitfetch.Options{
		URL: in.RepoURL, Branch: in.Branch, Commit: in.Commit, Dir: gitDir, Limits: lim,
		AllowPrivate: a.Settings.AllowPrivateGit,
		Credentials:  gitfetch.HostCredentials(a.Settings.GitHubToken, a.Settings.GitHubAPIURL, a.Settings.GitCredentials),
	})
	if err != nil {
		var ge *gitfetch.Error
		if errors.As(err, &ge) && ge.Permanent() {
			return res, permanent(string(ge.Kind), "%s", ge.Msg)
		}
		return res, transient(string(gitfetch.KindTransient), err, "clone %s", in.RepoURL)
	}
	st, err := gitfetch.Export(commit, src, lim)
	for _, note := range st.Skipped {
		log.Line("stderr", "warning: "+note)
	}
	if err != nil {
		var le *gitfetch.LimitError
		if errors.As(err, &le) {
			return res, permanent(workflows.ErrLimitExceeded, "%s", le.Msg)
		}
		return res, fmt.Errorf("write workspace: %w", err)
	}
	res.Commit = gitfetch.Describe(commit)
	res.Files, res.Bytes = st.Files, st.Bytes
	if err := os.WriteFile(filepath.Join(ws, "commit"), []byte(res.Commit.SHA), 0o644); err != nil {
		return res, fmt.Errorf("record commit: %w", err)
	}
	return res, nil
}

// defaultCloneConcurrency is the number of clones a worker runs at once when not configured.
const defaultCloneConcurrency = 4

// cloneSlot waits for one of this worker's clone slots (SKYDEPLOY_CLONE_CONCURRENCY), so that
// many deployments at once cannot exhaust a light worker's memory, disk or network; it
// returns the function that frees the slot. While it waits the activity keeps heartbeating
// (keepAlive), and cancellation ends the wait.
func (a *Activities) cloneSlot(ctx context.Context, log *stepLog) (release func(), err error) {
	a.cloneSlotsOnce.Do(func() {
		n := a.Settings.CloneConcurrency
		if n < 1 {
			n = defaultCloneConcurrency
		}
		a.cloneSlots = make(chan struct{}, n)
	})
	release = func() { <-a.cloneSlots }
	select {
	case a.cloneSlots <- struct{}{}:
		return release, nil
	default:
	}
	log.Printf("Waiting for a clone slot: this worker already runs %d clones (SKYDEPLOY_CLONE_CONCURRENCY)", cap(a.cloneSlots))
	begin := time.Now()
	select {
	case a.cloneSlots <- struct{}{}:
		log.Printf("Clone slot free after %s", time.Since(begin).Round(time.Millisecond))
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ensureWorkspace returns the source directory of the deployment's commit, fetching it again
// when this worker does not have it (another worker cloned it, or this one restarted).
func (a *Activities) ensureWorkspace(ctx context.Context, in workflows.CloneInput, log *stepLog) (string, error) {
	if in.SourceKey != "" {
		return a.ensureSourceWorkspace(ctx, in, log) // an uploaded folder (uploads.go)
	}
	ws := a.workspace(in.DeploymentID)
	if sha, err := os.ReadFile(filepath.Join(ws, "commit")); err == nil && in.Commit != "" && string(sha) == in.Commit {
		return filepath.Join(ws, "src"), nil
	}
	log.Printf("Workspace not on this worker; fetching commit %s again", short(in.Commit))
	if _, err := a.checkout(ctx, in, log); err != nil {
		return "", err
	}
	return filepath.Join(ws, "src"), nil
}

// DetectProject decides what kind of project the commit holds and how to build it.
func (a *Activities) DetectProject(ctx context.Context, in workflows.DetectInput) (detect.Plan, error) {
	if err := checkDeploymentID(in.DeploymentID); err != nil {
		return detect.Plan{}, err
	}
	defer keepAlive(ctx, 10*time.Second)()
	log := a.newStepLog(ctx, in.DeploymentID, workflows.StepDetect)
	defer log.Close(ctx)
	src, err := a.ensureWorkspace(ctx, in.CloneInput, log)
	if err != nil {
		return detect.Plan{}, err
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		return detect.Plan{}, fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	overrides := in.Overrides
	overrides.NodeAvailable = nodeVersion(ctx)
	plan, err := detect.Detect(root.FS(), overrides)
	if err != nil {
		log.Printf("Detection failed: %v", err)
		var unsupported *detect.UnsupportedError
		var invalid *detect.InvalidProjectError
		var badOverride *detect.OverrideError
		switch {
		case errors.As(err, &unsupported):
			return plan, permanent(workflows.ErrUnsupportedProject, "%v", err)
		case errors.As(err, &invalid), errors.As(err, &badOverride):
			return plan, permanent(workflows.ErrInvalidInput, "%v", err)
		}
		return plan, fmt.Errorf("detect project: %w", err)
	}
	name := plan.FrameworkName
	if name == "" {
		name = string(plan.Kind)
	}
	log.Printf("Detected %s project", name)
	if plan.RootDir != "" {
		log.Printf("Root directory: %s", plan.RootDir)
	}
	if plan.PackageManager != "" {
		log.Printf("Package manager: %s", plan.PackageManager)
	}
	if plan.InstallCommand != "" {
		log.Printf("Install command: %s", plan.InstallCommand)
	}
	if plan.BuildCommand != "" {
		log.Printf("Build command: %s", plan.BuildCommand)
	}
	if plan.OutputDir != "" {
		log.Printf("Output directory: %s", plan.OutputDir)
	}
	for _, n := range plan.Notes {
		log.Printf("Note: %s", n)
	}
	return plan, nil
}

// UploadSource stores the commit's source tree in object storage, where build workers and
// publishing read it.
func (a *Activities) UploadSource(ctx context.Context, in workflows.CloneInput) (workflows.UploadResult, error) {
	if err := checkDeploymentID(in.DeploymentID); err != nil {
		return workflows.UploadResult{}, err
	}
	defer keepAlive(ctx, 10*time.Second)()
	log := a.newStepLog(ctx, in.DeploymentID, workflows.StepUpload)
	defer log.Close(ctx)
	var res workflows.UploadResult
	src, err := a.ensureWorkspace(ctx, in, log)
	if err != nil {
		return res, err
	}
	key := storage.SourceKey(in.DeploymentID)
	st, size, err := a.storeSnapshot(ctx, in.DeploymentID, src, key)
	if err != nil {
		log.Printf("Upload failed, will retry: %v", err)
		return res, err
	}
	log.Printf("Uploaded source snapshot: %d files, %s (%s compressed)", st.Files, bytesize.Format(st.Bytes), bytesize.Format(size))
	return workflows.UploadResult{Key: key, Files: st.Files, Bytes: st.Bytes}, nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 120 {
		line = line[:120] + "…"
	}
	return line
}

func reasonOf(err error) string {
	return workflows.Reason(err)
}

// nodeVersion is the version of the node binary build workers use, or "" without one.
func nodeVersion(ctx context.Context) string {
	nodeOnce.Do(func() {
		out, err := exec.CommandContext(ctx, "node", "--version").Output()
		if err == nil {
			nodeVer = strings.TrimSpace(string(out))
		}
	})
	return nodeVer
}

var (
	nodeOnce sync.Once
	nodeVer  string
)
