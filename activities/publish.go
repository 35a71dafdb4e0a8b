package activities

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/skydeploy/skydeploy/internal/aliases"
	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/mimetypes"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/siteheaders"
	"github.com/skydeploy/skydeploy/internal/snapshot"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// minCompressBytes: smaller files are not worth a compressed variant.
const minCompressBytes = 512

// PublishDeployment uploads the files of an archive (build output or source snapshot) as
// content-addressed blobs — each distinct content once, with gzip and brotli variants made
// here, once — then writes the manifest, which makes the deployment live at its own URL, and
// finally moves the aliases. Every step is idempotent, so a retry after any failure is safe.
func (a *Activities) PublishDeployment(ctx context.Context, in workflows.PublishInput) (workflows.PublishResult, error) {
	defer keepAlive(ctx, 10*time.Second)()
	var res workflows.PublishResult
	if err := checkPublishInput(in); err != nil {
		return res, err
	}
	log := a.newStepLog(ctx, in.DeploymentID, workflows.StepPublish)
	defer log.Close(ctx)
	labels, err := a.aliasLabels(ctx, in, log)
	if err != nil {
		return res, err
	}

	dir, err := os.MkdirTemp(a.Settings.WorkDir, "publish-"+in.DeploymentID+"-")
	if err != nil {
		return res, fmt.Errorf("create publish dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := a.download(ctx, in.ArchiveKey, dir); err != nil {
		return res, err
	}
	root := dir
	if in.SubDir != "" {
		if !snapshot.SafeRelPath(in.SubDir) {
			return res, permanent(workflows.ErrInvalidInput, "output directory %q is not a relative path inside the project", in.SubDir)
		}
		root = filepath.Join(dir, filepath.FromSlash(in.SubDir))
		if st, err := os.Stat(root); err != nil || !st.IsDir() {
			return res, permanent(workflows.ErrBuildFailed, "output directory %s does not exist", in.SubDir)
		}
	}
	files, err := collectFiles(root)
	if err != nil {
		return res, err
	}
	if len(files) == 0 {
		return res, permanent(workflows.ErrBuildFailed, "output directory %s is empty: nothing to publish", displayDir(in.SubDir))
	}
	if err := checkSiteHeaders(root, files, log); err != nil {
		return res, err
	}
	log.Printf("Publishing %d files", len(files))

	m := manifest.Manifest{
		Version: manifest.Version, DeploymentID: in.DeploymentID, Project: in.Project, Commit: in.Commit.SHA,
		Kind: string(in.Plan.Kind), Framework: in.Plan.Framework, SPA: in.Plan.SPA, CreatedAt: time.Now().UTC(), RequestedAt: in.RequestedAt,
		Files: make([]manifest.File, len(files)),
	}
	var uploaded, reused atomic.Int64
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, rel := range files {
		g.Go(func() error {
			f, up, err := a.publishFile(gctx, root, rel)
			if err != nil {
				return err
			}
			m.Files[i] = f
			if up {
				uploaded.Add(1)
			} else {
				reused.Add(1)
			}
			if n := done.Add(1); n%200 == 0 {
				activity.RecordHeartbeat(ctx, n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		log.Printf("Upload of files failed, will retry: %v", err)
		return res, transient("StorageUnavailable", err, "upload files")
	}
	for _, f := range m.Files {
		m.TotalSize += f.Size
	}
	if a.Settings.MaxSiteBytes > 0 && m.TotalSize > a.Settings.MaxSiteBytes {
		return res, permanent(workflows.ErrLimitExceeded, "published files add up to %s, more than the limit of %s (SKYDEPLOY_MAX_SITE_BYTES)", bytesize.Format(m.TotalSize), bytesize.Format(a.Settings.MaxSiteBytes))
	}
	log.Printf("Uploaded %d new files, %d unchanged files reused", uploaded.Load(), reused.Load())

	data, err := json.Marshal(m)
	if err != nil {
		return res, fmt.Errorf("encode manifest: %w", err)
	}
	if err := a.Store.Put(ctx, storage.ManifestKey(in.DeploymentID), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return res, transient("StorageUnavailable", err, "write manifest")
	}
	log.Printf("Manifest written: deployment is live")
	for _, label := range labels {
		if newer, err := a.newerLive(ctx, label, in); err != nil {
			return res, transient("StorageUnavailable", err, "read alias %s", label)
		} else if newer != "" {
			log.Printf("Alias %s stays on %s, a newer deployment published first; this one is live at its own URL", label, newer)
			continue
		}
		if err := aliases.Move(ctx, a.Store, label, in.Project, in.DeploymentID, aliases.ReasonPublish); err != nil {
			return res, transient("StorageUnavailable", err, "move alias %s", label)
		}
		log.Printf("Alias %s now points to this deployment", label)
	}
	res = workflows.PublishResult{Files: len(m.Files), Bytes: m.TotalSize, Uploaded: int(uploaded.Load()), Reused: int(reused.Load())}
	return res, nil
}

// checkSiteHeaders refuses a site whose _headers sets a header no site may set (cookies for
// the shared base domain), naming each line in the log.
func checkSiteHeaders(root string, files []string, log *stepLog) error {
	if !slices.Contains(files, "_headers") {
		return nil
	}
	data, err := readInRoot(root, "_headers", 1<<20)
	if err != nil {
		return permanent(workflows.ErrUnsafeContent, "cannot read _headers: %v", err)
	}
	v := siteheaders.Check(data)
	if len(v) == 0 {
		return nil
	}
	for _, x := range v {
		log.Line("stderr", x.Error())
	}
	return permanent(workflows.ErrUnsafeContent, "%s", v[0].Error())
}

// checkPublishInput refuses input a workflow started by hand could forge: an id that is not a
// deployment id, or an archive outside the deployment's own keys.
func checkPublishInput(in workflows.PublishInput) error {
	if !ids.IsDeployment(in.DeploymentID) {
		return permanent(workflows.ErrInvalidInput, "refusing to publish: %q is not a deployment id", in.DeploymentID)
	}
	if in.ArchiveKey != storage.SourceKey(in.DeploymentID) && in.ArchiveKey != storage.ArtifactKey(in.DeploymentID) {
		return permanent(workflows.ErrInvalidInput, "refusing to publish %s from %q: a deployment publishes only its own source or build output", in.DeploymentID, in.ArchiveKey)
	}
	return nil
}

// aliasLabels derives the host labels publishing moves from the project's settings and the
// branch — the project's label for its production branch, the branch's preview label
// otherwise — instead of trusting the workflow's list, so that no workflow can point another
// project's (or another branch's) address at its files.
func (a *Activities) aliasLabels(ctx context.Context, in workflows.PublishInput, log *stepLog) ([]string, error) {
	if in.Project == "" {
		if len(in.AliasLabels) > 0 {
			log.Printf("Refusing to move aliases %v: a deployment without a project has none", in.AliasLabels)
		}
		return nil, nil
	}
	if a.Projects == nil {
		return nil, permanent(workflows.ErrInvalidInput, "cannot publish a deployment of project %s: this worker has no project settings", in.Project)
	}
	s, err := a.Projects.BuildSettings(ctx, in.Project, in.Branch)
	if errors.Is(err, projects.ErrNotFound) {
		log.Printf("Project %s no longer exists: the deployment is live at its own URL only", in.Project)
		return nil, nil
	}
	if err != nil {
		return nil, transient("ProjectSettingsUnavailable", err, "read the settings of project %s", in.Project)
	}
	if !repourl.SameRepository(s.RepoURL, in.RepoURL) {
		return nil, permanent(workflows.ErrInvalidInput, "refusing to publish a deployment of %s as project %s, whose repository is %s", in.RepoURL, in.Project, s.RepoURL)
	}
	labels := projects.AliasLabels(in.Project, s.Production, in.Branch)
	if !slices.Equal(labels, in.AliasLabels) {
		log.Printf("The workflow asked to move %v; moving %v, as the settings of project %s say for branch %s", in.AliasLabels, labels, in.Project, in.Branch)
	}
	return labels, nil
}

// newerLive returns the deployment the alias points at when it was published after being
// requested later than this one (so an old deployment that finishes late does not replace a
// newer one), or "". A rollback or promotion is the operator's choice and is not protected.
func (a *Activities) newerLive(ctx context.Context, label string, in workflows.PublishInput) (string, error) {
	cur, err := aliases.Read(ctx, a.Store, label)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, aliases.ErrUnreadable) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if cur.DeploymentID == in.DeploymentID || cur.Reason != aliases.ReasonPublish || in.RequestedAt.IsZero() {
		return "", nil
	}
	mdata, err := a.Store.GetBytes(ctx, storage.ManifestKey(cur.DeploymentID), 64<<20)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	m, err := manifest.Parse(mdata)
	if err != nil {
		return "", nil
	}
	if m.RequestedAt.After(in.RequestedAt) {
		return cur.DeploymentID, nil
	}
	return "", nil
}

func displayDir(d string) string {
	if d == "" {
		return "(project root)"
	}
	return d
}

// download fetches a snapshot archive and unpacks it into dir within the limits.
func (a *Activities) download(ctx context.Context, key, dir string) error {
	body, _, err := a.Store.Get(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return permanent(workflows.ErrInvalidInput, "archive %s is missing from object storage", key)
		}
		return transient("StorageUnavailable", err, "download %s", key)
	}
	defer body.Close()
	_, err = snapshot.Unpack(body, dir, snapshot.Limits{MaxFiles: a.Settings.MaxFiles, MaxFileBytes: a.Settings.MaxFileBytes, MaxBytes: a.Settings.MaxSiteBytes + a.Settings.MaxRepoBytes})
	if err != nil {
		var le *snapshot.LimitError
		var ue *snapshot.UnsafeError
		switch {
		case errors.As(err, &le):
			return permanent(workflows.ErrLimitExceeded, "%s", le.Msg)
		case errors.As(err, &ue):
			return permanent(workflows.ErrUnsafeContent, "%s", ue.Msg)
		}
		return transient("StorageUnavailable", err, "unpack %s", key)
	}
	return nil
}

// collectFiles lists the regular files under root as slash paths, sorted.
func collectFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list output files: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// publishFile hashes one file and stores its blob (and compressed variants) unless a blob with
// the same content exists. Variants are written before the blob, so an existing blob implies
// its variants exist too.
func (a *Activities) publishFile(ctx context.Context, root, rel string) (manifest.File, bool, error) {
	f := manifest.File{Path: rel, ContentType: mimetypes.ByName(rel)}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return f, false, fmt.Errorf("read %s: %w", rel, err)
	}
	sum := sha256.Sum256(data)
	f.SHA256 = hex.EncodeToString(sum[:])
	f.Size = int64(len(data))
	exists, err := a.Store.Exists(ctx, storage.BlobKey(f.SHA256))
	if err != nil {
		return f, false, err
	}
	compress := mimetypes.Compressible(f.ContentType) && len(data) >= minCompressBytes
	if exists {
		if compress {
			f.Encodings, err = a.variantSizes(ctx, f.SHA256)
		}
		return f, false, err
	}
	if compress {
		f.Encodings = map[string]int64{}
		for _, enc := range []string{"br", "gz"} {
			z, err := compressBytes(enc, data)
			if err != nil {
				return f, false, err
			}
			if len(z) >= len(data)*9/10 {
				continue // not worth it
			}
			if err := a.Store.Put(ctx, storage.BlobVariantKey(f.SHA256, enc), z, storage.PutOptions{ContentType: f.ContentType}); err != nil {
				return f, false, err
			}
			f.Encodings[enc] = int64(len(z))
		}
		if len(f.Encodings) == 0 {
			f.Encodings = nil
		}
	}
	if err := a.Store.Put(ctx, storage.BlobKey(f.SHA256), data, storage.PutOptions{ContentType: f.ContentType}); err != nil {
		return f, false, err
	}
	return f, true, nil
}

func (a *Activities) variantSizes(ctx context.Context, sha string) (map[string]int64, error) {
	out := map[string]int64{}
	objs, err := a.Store.List(ctx, storage.BlobKey(sha)+".")
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		enc := strings.TrimPrefix(o.Key, storage.BlobKey(sha)+".")
		if enc == "br" || enc == "gz" {
			out[enc] = o.Size
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestCompression); return w }}

func compressBytes(enc string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch enc {
	case "gz":
		w := gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(w)
		w.Reset(&buf)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case "br":
		w := brotli.NewWriterLevel(&buf, 9)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown encoding %q", enc)
	}
	return buf.Bytes(), nil
}
