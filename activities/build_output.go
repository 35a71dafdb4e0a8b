package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/sandbox"
	"github.com/skydeploy/skydeploy/internal/snapshot"
	"github.com/skydeploy/skydeploy/workflows"
)

// artifact is a packed build output.
type artifact struct {
	path  string // temp file, tar.gz
	files int
	bytes int64 // uncompressed
	size  int64 // compressed
}

// outputCandidates are the directories (relative to RootDir) that may hold the output, in order.
func outputCandidates(p detect.Plan) []string {
	var out []string
	seen := map[string]bool{}
	add := func(d string) {
		d = strings.Trim(d, "/")
		if d == "." {
			d = ""
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	add(p.OutputDir)
	for _, c := range p.OutputCandidates {
		add(c)
	}
	return out
}

// resolveOutput finds the output directory: the first candidate that exists under RootDir. It
// returns its real path and its display name (workspace-relative). A candidate that is a link
// leading out of the workspace is refused.
func resolveOutput(ws string, p detect.Plan) (string, string, error) {
	wsReal, err := filepath.EvalSymlinks(ws)
	if err != nil {
		return "", "", fmt.Errorf("workspace: %w", err)
	}
	root := projectDir(p)
	cands := outputCandidates(p)
	var looked []string
	for _, c := range cands {
		rel := path.Join(root, c)
		if rel == "" {
			rel = "."
		}
		display := rel
		if display == "." {
			display = "(project root)"
		}
		looked = append(looked, display)
		real, err := filepath.EvalSymlinks(filepath.Join(wsReal, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", permanent(workflows.ErrUnsafeContent, "output directory %s cannot be resolved inside the workspace (%v); refusing to publish", display, err)
		}
		if real != wsReal && !strings.HasPrefix(real, wsReal+string(filepath.Separator)) {
			target, _ := os.Readlink(filepath.Join(wsReal, filepath.FromSlash(rel)))
			if target == "" {
				target = real
			}
			return "", "", permanent(workflows.ErrUnsafeContent, "output directory %s is a symlink to %s outside the workspace; refusing to publish", display, target)
		}
		fi, err := os.Stat(real)
		if err != nil || !fi.IsDir() {
			continue
		}
		return real, display, nil
	}
	return "", "", permanent(workflows.ErrBuildFailed, "output directory %s was not produced by the build (looked for: %s)", looked[0], strings.Join(looked, ", "))
}

// packOutput packs the output directory into a tar.gz beside the workspace, reading it with
// sandbox.SafeOutputWalk (no link may lead out of it) and within the site limits. The archive's
// root is the output directory's content: publishing takes it as it is.
func (b *build) packOutput(ctx context.Context) (*artifact, error) {
	// The sandbox's home and temp directories (with caches and corepack shims) are never output.
	if r, err := os.OpenRoot(b.ws); err == nil {
		_ = r.RemoveAll(".skydeploy")
		r.Close()
	}
	dir, display, err := resolveOutput(b.ws, b.in.Plan)
	if err != nil {
		return nil, err
	}
	b.log.Printf("Reading build output from %s", display)
	f, err := os.CreateTemp(b.dir, "artifact-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("create artifact: %w", err)
	}
	art := &artifact{path: f.Name()}
	ok := false
	defer func() {
		f.Close()
		if !ok {
			os.Remove(art.path)
		}
	}()
	if err := writeOutputTar(ctx, f, dir, display, b.a.Settings, art); err != nil {
		return nil, err
	}
	if art.files == 0 {
		return nil, permanent(workflows.ErrBuildFailed, "output directory %s is empty: the build produced no files to publish", display)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	art.size = size
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	ok = true
	return art, nil
}

// writeOutputTar writes the regular files under dir (links inside it resolved) to w.
func writeOutputTar(ctx context.Context, w io.Writer, dir, display string, s Settings, art *artifact) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open output: %w", err)
	}
	defer root.Close()
	aw := snapshot.NewWriter(w)
	shown := func(rel string) string {
		if display == "(project root)" {
			return rel
		}
		return display + "/" + rel
	}
	err = sandbox.SafeOutputWalk(dir, func(rel string, info fs.FileInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.MaxFiles > 0 && art.files >= s.MaxFiles {
			return permanent(workflows.ErrLimitExceeded, "build output has more than %d files (SKYDEPLOY_MAX_FILES)", s.MaxFiles)
		}
		if s.MaxFileBytes > 0 && info.Size() > s.MaxFileBytes {
			return permanent(workflows.ErrLimitExceeded, "build output file %s is %s, more than the limit of %s (SKYDEPLOY_MAX_FILE_BYTES)", shown(rel), bytesize.Format(info.Size()), bytesize.Format(s.MaxFileBytes))
		}
		if s.MaxSiteBytes > 0 && art.bytes+info.Size() > s.MaxSiteBytes {
			return permanent(workflows.ErrLimitExceeded, "build output adds up to more than the limit of %s (SKYDEPLOY_MAX_SITE_BYTES)", bytesize.Format(s.MaxSiteBytes))
		}
		f, err := root.Open(rel)
		if err != nil {
			return fmt.Errorf("read output %s: %w", rel, err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("read output %s: not a regular file", rel)
		}
		if err := aw.Add(rel, f, fi.Size(), fi.Mode()&0o111 != 0); err != nil {
			return fmt.Errorf("pack output: %w", err)
		}
		art.files++
		art.bytes += fi.Size()
		if art.files%500 == 0 && activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, "pack output")
		}
		return nil
	})
	var ue *sandbox.UnsafePathError
	if errors.As(err, &ue) {
		where := "outside the output directory"
		if strings.HasPrefix(ue.Target, "/") {
			where = "outside the workspace"
		}
		if strings.HasPrefix(ue.Reason, "cannot be resolved") {
			where = "that cannot be resolved inside the output directory"
		}
		return permanent(workflows.ErrUnsafeContent, "build output contains %s, a symlink to %s %s; refusing to publish", shown(ue.Path), ue.Target, where)
	}
	if err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("pack output: %w", err)
	}
	return nil
}
