package localfolder

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
)

// maxMessageBytes bounds the commit message sent (the gateway takes at most 4 KiB).
const maxMessageBytes = 4000

// GitInfo describes the git checkout dir belongs to: its HEAD commit (hash, message, author),
// its branch and whether the working tree differs from it. It is nil when dir is in no
// checkout, the checkout has no commit yet, or git is not installed. On a detached HEAD (as
// CI systems check out), the branch comes from GitHub Actions: a pull request's head branch
// (GITHUB_HEAD_REF), else the pushed branch (GITHUB_REF_NAME when GITHUB_REF_TYPE is branch).
func GitInfo(ctx context.Context, dir string) *api.UploadGit {
	if _, err := exec.LookPath("git"); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			return "", false
		}
		return strings.TrimRight(out.String(), "\n"), true
	}
	commit, ok := git("rev-parse", "--verify", "-q", "HEAD")
	if !ok || commit == "" {
		return nil
	}
	g := &api.UploadGit{Commit: strings.ToLower(commit)}
	if branch, ok := git("symbolic-ref", "--short", "-q", "HEAD"); ok {
		g.Branch = branch
	} else if head := os.Getenv("GITHUB_HEAD_REF"); head != "" {
		g.Branch = head // a pull request's branch
	} else if os.Getenv("GITHUB_REF_TYPE") == "branch" {
		g.Branch = os.Getenv("GITHUB_REF_NAME")
	}
	if log, ok := git("log", "-1", "--format=%an%x00%ae%x00%B"); ok {
		parts := strings.SplitN(log, "\x00", 3)
		if len(parts) == 3 {
			g.Author, g.Email = parts[0], parts[1]
			g.Message = strings.TrimSpace(parts[2])
			if len(g.Message) > maxMessageBytes {
				g.Message = strings.ToValidUTF8(g.Message[:maxMessageBytes], "") + "…"
			}
		}
	}
	if status, ok := git("status", "--porcelain", "--untracked-files=normal"); ok {
		g.Dirty = status != ""
	}
	return g
}
