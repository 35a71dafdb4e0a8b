package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/snapshot"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/internal/uploads"
	"github.com/skydeploy/skydeploy/workflows"
)

// storeUpload stores contents and a manifest of files (path → content) as the gateway would,
// and returns the upload's id and manifest.
func storeUpload(t *testing.T, store *storage.Store, files map[string]string, mode map[string]int) (string, []api.UploadFile) {
	t.Helper()
	ctx := context.Background()
	var list []api.UploadFile
	for p, content := range files {
		sum := sha256.Sum256([]byte(content))
		sha := hex.EncodeToString(sum[:])
		m := api.ModeFile
		if mode[p] != 0 {
			m = mode[p]
		}
		list = append(list, api.UploadFile{Path: p, SHA256: sha, Size: int64(len(content)), Mode: m})
		if err := store.Put(ctx, storage.UploadBlobKey(sha), []byte(content), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	id := uploads.NewID()
	putManifest(t, store, &uploads.Manifest{ID: id, CreatedAt: time.Now(), Files: list})
	return id, list
}

func putManifest(t *testing.T, store *storage.Store, m *uploads.Manifest) {
	t.Helper()
	data, _ := m.Encode()
	if err := store.Put(context.Background(), storage.UploadManifestKey(m.ID), data, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

// TestMaterializeUpload runs against versitygw: an upload becomes the deployment's source
// snapshot (files, modes, a content shared by two files written twice), which another worker
// unpacks for detection; hostile or incomplete uploads fail with a permanent error that says
// why, and nothing outside the workspace is written.
func TestMaterializeUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("needs versitygw")
	}
	store := testenv.StartS3(t).Store()
	ctx := context.Background()
	a := &Activities{Store: store, Settings: Settings{WorkDir: t.TempDir(), MaxFiles: 100, MaxFileBytes: 1 << 20, MaxRepoBytes: 10 << 20}}
	const dep = "0abcdefghjkm"

	id, _ := storeUpload(t, store, map[string]string{
		"index.html": "<h1>up</h1>", "copy.html": "<h1>up</h1>", "bin/run.sh": "#!/bin/sh\necho hi\n", "a/b/c/deep.txt": "deep",
	}, map[string]int{"bin/run.sh": api.ModeExecutable})
	res, err := a.MaterializeUpload(ctx, workflows.MaterializeInput{DeploymentID: dep, UploadID: id})
	if err != nil {
		t.Fatal(err)
	}
	if res.Key != storage.SourceKey(dep) || res.Files != 4 {
		t.Fatalf("result %+v", res)
	}
	body, _, err := store.Get(ctx, res.Key)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := snapshot.Unpack(body, out, snapshot.Limits{}); err != nil {
		t.Fatal(err)
	}
	body.Close()
	for p, want := range map[string]string{"index.html": "<h1>up</h1>", "copy.html": "<h1>up</h1>", "a/b/c/deep.txt": "deep"} {
		if got, _ := os.ReadFile(filepath.Join(out, p)); string(got) != want {
			t.Errorf("%s = %q in the snapshot", p, got)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "bin/run.sh")); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("bin/run.sh lost its executable bit: %v %v", st, err)
	}

	// Its log is archived as the first step's: archived parts sort in the order steps ran.
	parts, err := store.List(ctx, storage.LogPrefix(dep))
	if err != nil || len(parts) != 1 || !strings.HasPrefix(strings.TrimPrefix(parts[0].Key, storage.LogPrefix(dep)), "0-upload-") {
		t.Errorf("archived log parts %+v, %v: want one, first in order", parts, err)
	}

	// Another worker (an empty work dir) unpacks the snapshot for detection.
	other := &Activities{Store: store, Settings: a.Settings}
	other.Settings.WorkDir = t.TempDir()
	log := other.newStepLog(ctx, dep, workflows.StepDetect)
	src, err := other.ensureWorkspace(ctx, workflows.CloneInput{DeploymentID: dep, SourceKey: res.Key}, log)
	log.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(src, "a/b/c/deep.txt")); string(got) != "deep" {
		t.Errorf("unpacked workspace lacks deep.txt: %q", got)
	}
	if _, err := other.ensureWorkspace(ctx, workflows.CloneInput{DeploymentID: dep, SourceKey: "sources/1bcdefghjkmn.tar.gz"}, log); errType(err) != workflows.ErrInvalidInput {
		t.Errorf("another deployment's snapshot: %v", err)
	}

	sha := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	for _, tc := range []struct {
		name  string
		files []api.UploadFile
		put   map[string]string // content key → stored bytes
		want  string            // error type
		says  string
	}{
		{"escaping path", []api.UploadFile{{Path: "../../etc/cron.d/x", SHA256: sha("x"), Size: 1, Mode: api.ModeFile}}, map[string]string{sha("x"): "x"}, workflows.ErrUnsafeContent, "not a clean relative path"},
		{".git path", []api.UploadFile{{Path: ".git/hooks/pre-commit", SHA256: sha("x"), Size: 1, Mode: api.ModeFile}}, map[string]string{sha("x"): "x"}, workflows.ErrUnsafeContent, ".git directory"},
		{"over the limit", []api.UploadFile{{Path: "big", SHA256: sha("b"), Size: 2 << 20, Mode: api.ModeFile}}, nil, workflows.ErrLimitExceeded, "SKYDEPLOY_MAX_FILE_BYTES"},
		{"content gone", []api.UploadFile{{Path: "gone.html", SHA256: sha("never stored"), Size: 12, Mode: api.ModeFile}}, nil, ErrUploadGone, "gone.html"},
		{"content replaced", []api.UploadFile{{Path: "swap.html", SHA256: sha("original"), Size: 8, Mode: api.ModeFile}}, map[string]string{sha("original"): "tampered"}, workflows.ErrUnsafeContent, "is not the one uploaded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for key, content := range tc.put {
				if err := store.Put(ctx, storage.UploadBlobKey(key), []byte(content), storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			id := uploads.NewID()
			putManifest(t, store, &uploads.Manifest{ID: id, Files: tc.files})
			_, err := a.MaterializeUpload(ctx, workflows.MaterializeInput{DeploymentID: "1bcdefghjkmn", UploadID: id})
			if errType(err) != tc.want || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("MaterializeUpload = %v (type %q), want %s saying %q", err, errType(err), tc.want, tc.says)
			}
		})
	}
	if _, err := a.MaterializeUpload(ctx, workflows.MaterializeInput{DeploymentID: dep, UploadID: uploads.NewID()}); errType(err) != ErrUploadGone {
		t.Errorf("an upload that is not stored: %v", err)
	}
	if _, err := a.MaterializeUpload(ctx, workflows.MaterializeInput{DeploymentID: dep, UploadID: "../../tokens/x"}); errType(err) != workflows.ErrInvalidInput {
		t.Errorf("a forged upload id: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(a.Settings.WorkDir), "etc")); err == nil {
		t.Errorf("something was written outside the work dir")
	}
}

// TestCollectUploads runs against versitygw: manifests older than the TTL go, and so do old
// contents no remaining manifest lists; an old content a recent manifest lists stays.
func TestCollectUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("needs versitygw")
	}
	store := testenv.StartS3(t).Store()
	ctx := context.Background()
	a := &Activities{Store: store}
	stale, _ := storeUpload(t, store, map[string]string{"old.html": "old only", "shared.css": "shared"}, nil)
	time.Sleep(2100 * time.Millisecond) // object times have a resolution of a second
	recent, _ := storeUpload(t, store, map[string]string{"shared.css": "shared", "new.html": "new"}, nil)
	res, err := a.CollectUploads(ctx, workflows.CollectUploadsInput{TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ManifestsDeleted != 1 || res.ManifestsKept != 1 || res.ContentsDeleted != 1 || res.BytesDeleted != int64(len("old only")) {
		t.Errorf("result %+v", res)
	}
	exists := func(key string) bool {
		ok, err := store.Exists(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	sha := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	if exists(storage.UploadManifestKey(stale)) || exists(storage.UploadBlobKey(sha("old only"))) {
		t.Errorf("the stale upload or its own content survived")
	}
	if !exists(storage.UploadManifestKey(recent)) || !exists(storage.UploadBlobKey(sha("shared"))) || !exists(storage.UploadBlobKey(sha("new"))) {
		t.Errorf("the recent upload lost something")
	}
	// An unreadable recent manifest: its references are unknown, so no content goes.
	if err := store.Put(ctx, storage.UploadManifestKey(uploads.NewID()), []byte("{"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if err := store.Put(ctx, storage.UploadManifestKey(uploads.NewID()), []byte("not json"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err = a.CollectUploads(ctx, workflows.CollectUploadsInput{TTL: 2 * time.Second})
	if err != nil || res.Skipped == "" || res.ContentsDeleted != 0 {
		t.Errorf("with an unreadable manifest: %+v, %v", res, err)
	}
	if _, err := a.CollectUploads(ctx, workflows.CollectUploadsInput{}); errType(err) != workflows.ErrInvalidInput {
		t.Errorf("a zero TTL: %v", err)
	}
}
