package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/snapshot"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/uploads"
	"github.com/skydeploy/skydeploy/workflows"
)

// Error types of uploaded folders, as the Temporal UI shows them.
const (
	// ErrUploadGone: the upload's manifest or one of its contents is no longer stored (it
	// expired, SKYDEPLOY_UPLOAD_TTL): the folder must be deployed again.
	ErrUploadGone = "UploadGone"
)

// maxUploadManifestBytes bounds the manifest an activity reads (the gateway bounds what it
// stores far below this).
const maxUploadManifestBytes = 256 << 20

// materializeConcurrency is how many contents MaterializeUpload fetches at once.
const materializeConcurrency = 16

// MaterializeUpload writes an uploaded folder's files into the deployment's workspace and stores
// them as its source snapshot (sources/<id>.tar.gz, the archive UploadSource makes of a clone),
// so detection, the build and publishing read it as they read a clone's. Nothing of the upload
// is trusted: the manifest is checked again with the path rules of source snapshots (no
// absolute path, no `..`, no `.git`) and the repository limits, and each content is hashed
// again as it is written. A manifest or content that is no longer stored fails the deployment
// (the folder must be deployed again); storage errors are retried.
func (a *Activities) MaterializeUpload(ctx context.Context, in workflows.MaterializeInput) (workflows.UploadResult, error) {
	var res workflows.UploadResult
	if err := checkDeploymentID(in.DeploymentID); err != nil {
		return res, err
	}
	if !uploads.ValidID(in.UploadID) {
		return res, permanent(workflows.ErrInvalidInput, "refusing to work on upload %q: not an upload id", in.UploadID)
	}
	defer keepAlive(ctx, 10*time.Second)()
	log := a.newStepLogAt(ctx, in.DeploymentID, workflows.StepUpload, slices.Index(workflows.UploadSteps, workflows.StepUpload))
	defer log.Close(ctx)
	m, err := a.readUploadManifest(ctx, in.UploadID)
	if err != nil {
		log.Printf("Upload %s: %s", in.UploadID, reasonOf(err))
		return res, err
	}
	lim := uploads.Limits{MaxBytes: a.Settings.MaxRepoBytes, MaxFiles: a.Settings.MaxFiles, MaxFileBytes: a.Settings.MaxFileBytes}
	tot, err := uploads.Check(m.Files, lim)
	if err != nil {
		log.Printf("Upload %s refused: %v", in.UploadID, err)
		var le *uploads.LimitError
		if errors.As(err, &le) {
			return res, permanent(workflows.ErrLimitExceeded, "%v", err)
		}
		return res, permanent(workflows.ErrUnsafeContent, "%v", err)
	}
	log.Printf("Uploaded folder %s: %d files, %s (%d distinct contents)", in.UploadID, tot.Files, bytesize.Format(tot.Bytes), tot.Contents)

	ws := a.workspace(in.DeploymentID)
	src := filepath.Join(ws, "src")
	if err := os.RemoveAll(ws); err != nil {
		return res, fmt.Errorf("clear workspace: %w", err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return res, fmt.Errorf("create workspace: %w", err)
	}
	if err := a.writeUploadedFiles(ctx, src, m.Files); err != nil {
		if !isPermanent(err) {
			log.Printf("Fetching the uploaded files failed, will retry: %v", err)
		} else {
			log.Printf("%s", reasonOf(err))
		}
		return res, err
	}
	key := storage.SourceKey(in.DeploymentID)
	st, size, err := a.storeSnapshot(ctx, in.DeploymentID, src, key)
	if err != nil {
		log.Printf("Storing the source snapshot failed, will retry: %v", err)
		return res, err
	}
	if err := os.WriteFile(filepath.Join(ws, "source"), []byte(key), 0o644); err != nil {
		return res, fmt.Errorf("record source: %w", err)
	}
	log.Printf("Stored source snapshot: %d files, %s (%s compressed)", st.Files, bytesize.Format(st.Bytes), bytesize.Format(size))
	return workflows.UploadResult{Key: key, Files: st.Files, Bytes: st.Bytes}, nil
}

// readUploadManifest reads and parses an upload's manifest.
func (a *Activities) readUploadManifest(ctx context.Context, id string) (*uploads.Manifest, error) {
	data, err := a.Store.GetBytes(ctx, storage.UploadManifestKey(id), maxUploadManifestBytes)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, permanent(ErrUploadGone, "upload %s is no longer stored (uploads are kept for SKYDEPLOY_UPLOAD_TTL after they are made): deploy the folder again", id)
	}
	if err != nil {
		return nil, transient("StorageUnavailable", err, "read the manifest of upload %s", id)
	}
	m, err := uploads.ParseManifest(data)
	if err != nil {
		return nil, permanent(workflows.ErrInvalidInput, "upload %s: %v", id, err)
	}
	if m.ID != id {
		return nil, permanent(workflows.ErrInvalidInput, "the manifest stored for upload %s names upload %q", id, m.ID)
	}
	return m, nil
}

// writeUploadedFiles writes files (a checked manifest) under src: each distinct content is
// fetched once, hashed as it is written, and copied to the other files that share it.
func (a *Activities) writeUploadedFiles(ctx context.Context, src string, files []api.UploadFile) error {
	root, err := os.OpenRoot(src)
	if err != nil {
		return fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	dirs := map[string]bool{}
	byContent := map[string][]api.UploadFile{}
	for _, f := range files {
		if d := path.Dir(f.Path); d != "." {
			dirs[d] = true
		}
		byContent[f.SHA256] = append(byContent[f.SHA256], f)
	}
	for d := range dirs {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	shas := make([]string, 0, len(byContent))
	for sha := range byContent {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(materializeConcurrency)
	for _, sha := range shas {
		same := byContent[sha]
		g.Go(func() error {
			if err := a.fetchContent(gctx, root, same[0]); err != nil {
				return err
			}
			for _, f := range same[1:] {
				if err := copyWithin(root, same[0].Path, f); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func filePerm(mode int) os.FileMode {
	if mode == api.ModeExecutable {
		return 0o755
	}
	return 0o644
}

// fetchContent writes the stored content of f to f.Path, checking its size and hash.
func (a *Activities) fetchContent(ctx context.Context, root *os.Root, f api.UploadFile) error {
	body, _, err := a.Store.Get(ctx, storage.UploadBlobKey(f.SHA256))
	if errors.Is(err, storage.ErrNotFound) {
		return permanent(ErrUploadGone, "the content of %s (sha256 %s) is no longer stored: deploy the folder again", f.Path, f.SHA256)
	}
	if err != nil {
		return transient("StorageUnavailable", err, "fetch the content of %s", f.Path)
	}
	defer body.Close()
	out, err := root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm(f.Mode))
	if err != nil {
		return fmt.Errorf("create %s: %w", f.Path, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(body, f.Size+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return transient("StorageUnavailable", err, "fetch the content of %s", f.Path)
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return permanent(workflows.ErrUnsafeContent, "the stored content of %s is not the one uploaded (%d bytes, want %d with sha256 %s)", f.Path, n, f.Size, f.SHA256)
	}
	return nil
}

// copyWithin copies the file at from (inside root) to f.Path with f's mode.
func copyWithin(root *os.Root, from string, f api.UploadFile) error {
	in, err := root.Open(from)
	if err != nil {
		return fmt.Errorf("open %s: %w", from, err)
	}
	defer in.Close()
	out, err := root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm(f.Mode))
	if err != nil {
		return fmt.Errorf("create %s: %w", f.Path, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// storeSnapshot packs src and stores it under key, returning what was packed and the
// archive's size.
func (a *Activities) storeSnapshot(ctx context.Context, deploymentID, src, key string) (snapshot.Stats, int64, error) {
	tmp, err := os.CreateTemp(a.workspace(deploymentID), "source-*.tar.gz")
	if err != nil {
		return snapshot.Stats{}, 0, fmt.Errorf("create snapshot file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	st, err := snapshot.Pack(tmp, src, nil)
	if err != nil {
		return st, 0, fmt.Errorf("pack source: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekEnd)
	if err != nil {
		return st, 0, fmt.Errorf("size snapshot: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return st, 0, fmt.Errorf("rewind snapshot: %w", err)
	}
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, "uploading")
	}
	if err := a.Store.PutReader(ctx, key, tmp, size, storage.PutOptions{ContentType: "application/gzip"}); err != nil {
		return st, size, transient("StorageUnavailable", err, "upload source snapshot")
	}
	return st, size, nil
}

// ensureSourceWorkspace returns the source directory of a deployment whose source is a stored
// snapshot (an uploaded folder), unpacking the snapshot when this worker does not have it.
func (a *Activities) ensureSourceWorkspace(ctx context.Context, in workflows.CloneInput, log *stepLog) (string, error) {
	if want := storage.SourceKey(in.DeploymentID); in.SourceKey != want {
		return "", permanent(workflows.ErrInvalidInput, "refusing to work on %s from %q: a deployment reads only its own source snapshot (%s)", in.DeploymentID, in.SourceKey, want)
	}
	ws := a.workspace(in.DeploymentID)
	src := filepath.Join(ws, "src")
	if key, err := os.ReadFile(filepath.Join(ws, "source")); err == nil && string(key) == in.SourceKey {
		return src, nil
	}
	log.Printf("Workspace not on this worker; unpacking the source snapshot")
	if err := os.RemoveAll(ws); err != nil {
		return "", fmt.Errorf("clear workspace: %w", err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("create workspace: %w", err)
	}
	body, _, err := a.Store.Get(ctx, in.SourceKey)
	if err != nil {
		return "", transient("StorageUnavailable", err, "fetch the source snapshot")
	}
	defer body.Close()
	lim := snapshot.Limits{MaxFiles: a.Settings.MaxFiles, MaxFileBytes: a.Settings.MaxFileBytes, MaxBytes: a.Settings.MaxRepoBytes}
	if _, err := snapshot.Unpack(body, src, lim); err != nil {
		var le *snapshot.LimitError
		var ue *snapshot.UnsafeError
		switch {
		case errors.As(err, &le):
			return "", permanent(workflows.ErrLimitExceeded, "%v", err)
		case errors.As(err, &ue):
			return "", permanent(workflows.ErrUnsafeContent, "%v", err)
		}
		return "", transient("StorageUnavailable", err, "unpack the source snapshot")
	}
	if err := os.WriteFile(filepath.Join(ws, "source"), []byte(in.SourceKey), 0o644); err != nil {
		return "", fmt.Errorf("record source: %w", err)
	}
	return src, nil
}

// CollectUploads deletes what uploaded folders left behind (the schedule collect-uploads runs
// it, see workflows.CollectUploads): manifests made more than in.TTL ago, then the contents
// sent more than in.TTL ago that no remaining manifest lists. An upload made while it runs may
// have been told that a content is stored: manifests are listed again just before contents are
// deleted, and what the new ones list is kept. Should one still lose a content, the gateway's
// deploy check (409) makes the client send it again, or the deployment fails with UploadGone.
func (a *Activities) CollectUploads(ctx context.Context, in workflows.CollectUploadsInput) (workflows.CollectUploadsResult, error) {
	var res workflows.CollectUploadsResult
	if in.TTL <= 0 {
		return res, permanent(workflows.ErrInvalidInput, "refusing to collect uploads with a TTL of %s", in.TTL)
	}
	defer keepAlive(ctx, 30*time.Second)()
	cutoff := time.Now().Add(-in.TTL)
	blobs, err := a.Store.List(ctx, storage.UploadBlobsPrefix)
	if err != nil {
		return res, transient("StorageUnavailable", err, "list uploaded contents")
	}
	referenced := map[string]bool{}
	seen := map[string]bool{}
	unreadable := 0
	scan := func() error {
		manifests, err := a.Store.List(ctx, storage.UploadManifestsPrefix)
		if err != nil {
			return transient("StorageUnavailable", err, "list upload manifests")
		}
		for _, o := range manifests {
			if seen[o.Key] {
				continue
			}
			seen[o.Key] = true
			if o.LastModified.Before(cutoff) {
				if err := a.Store.Delete(ctx, o.Key); err != nil {
					return transient("StorageUnavailable", err, "delete %s", o.Key)
				}
				res.ManifestsDeleted++
				continue
			}
			res.ManifestsKept++
			data, err := a.Store.GetBytes(ctx, o.Key, maxUploadManifestBytes)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return transient("StorageUnavailable", err, "read %s", o.Key)
			}
			m, err := uploads.ParseManifest(data)
			if err != nil {
				unreadable++
				continue
			}
			for _, f := range m.Files {
				referenced[f.SHA256] = true
			}
		}
		return nil
	}
	if err := scan(); err != nil {
		return res, err
	}
	if err := scan(); err != nil { // uploads made meanwhile
		return res, err
	}
	if unreadable > 0 {
		res.Skipped = fmt.Sprintf("%d upload manifests are unreadable: contents are not collected until they expire", unreadable)
		res.ContentsKept = len(blobs)
		return res, nil
	}
	for _, o := range blobs {
		sha := strings.TrimPrefix(o.Key, storage.UploadBlobsPrefix)
		if referenced[sha] || !o.LastModified.Before(cutoff) {
			res.ContentsKept++
			continue
		}
		if err := a.Store.Delete(ctx, o.Key); err != nil {
			return res, transient("StorageUnavailable", err, "delete %s", o.Key)
		}
		res.ContentsDeleted++
		res.BytesDeleted += o.Size
	}
	if res.ManifestsDeleted+res.ContentsDeleted > 0 {
		a.logger().Info("collected stale uploads", "manifests", res.ManifestsDeleted, "contents", res.ContentsDeleted, "bytes", res.BytesDeleted)
	}
	return res, nil
}
