package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/metrics"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/uploads"
	"github.com/skydeploy/skydeploy/workflows"
)

// Deploying a folder from the command line (`skydeploy deploy DIR`), in three calls:
//
//  1. POST /api/uploads with the folder's manifest (path, sha256, size, mode of each file): the
//     gateway checks it (paths, limits), stores it as uploads/manifests/<id>.json and answers
//     the upload's id and the contents it lacks (HEAD uploads/blobs/<sha256> for each).
//  2. PUT /api/uploads/{id}/contents/{sha256} for each missing content: accepted only when the
//     manifest lists it, with the size it declares; hashed as it arrives and stored under
//     uploads/blobs/<sha256> only when the hash matches.
//  3. POST /api/uploads/{id}/deploy: once every content is stored, starts the deployment
//     workflow, whose first step turns the manifest into the deployment's source snapshot.
//
// Contents are content-addressed and shared by every upload, so a folder deployed again sends
// only what changed, and an interrupted upload resumes: the next manifest's answer lists only
// what never arrived. The schedule collect-uploads (activities/uploads.go) removes manifests
// and unlisted contents after SKYDEPLOY_UPLOAD_TTL.

// Routes of uploads, as gin names them (bodyLimit and the metrics use them).
const (
	routeUploads       = "/api/uploads"
	routeUploadContent = "/api/uploads/:id/contents/:sha256"
	routeUploadDeploy  = "/api/uploads/:id/deploy"
)

// uploadsRoutes registers the upload routes on the /api group.
func (s *Server) uploadsRoutes(a *gin.RouterGroup) {
	a.POST("/uploads", s.createUpload)
	a.PUT("/uploads/:id/contents/:sha256", s.putUploadContent)
	a.POST("/uploads/:id/deploy", s.rateLimitDeploys(), s.deployUpload)
}

// bodyLimit is the largest request body a route accepts: a content may be as large as the
// largest file allowed, a manifest holds up to SKYDEPLOY_MAX_FILES entries, everything else
// maxBodyBytes.
func (s *Server) bodyLimit(c *gin.Context) int64 {
	switch c.FullPath() {
	case routeUploadContent:
		return max(s.cfg.MaxFileBytes, 1)
	case routeUploads:
		return manifestBodyLimit(s.cfg.MaxFiles)
	}
	return maxBodyBytes
}

// manifestBodyLimit allows each of maxFiles entries a path of MaxPathBytes and its fields,
// within 1 MiB and 256 MiB.
func manifestBodyLimit(maxFiles int) int64 {
	n := int64(maxFiles) * (uploads.MaxPathBytes + 160)
	return min(max(n, maxBodyBytes), 256<<20)
}

// uploadLimits are the repository limits, which uploads share.
func (s *Server) uploadLimits() uploads.Limits {
	return uploads.Limits{MaxBytes: s.cfg.MaxRepoBytes, MaxFiles: s.cfg.MaxFiles, MaxFileBytes: s.cfg.MaxFileBytes}
}

func (s *Server) createUpload(c *gin.Context) {
	var req api.UploadRequest
	if !bindJSON(c, &req, `{"files": [{"path": "index.html", "sha256": "<64 hex digits>", "size": 1234, "mode": 420}]}`) {
		return
	}
	tot, err := uploads.Check(req.Files, s.uploadLimits())
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	ctx := c.Request.Context()
	now := time.Now().UTC()
	m := uploads.Manifest{ID: uploads.NewID(), CreatedAt: now, Files: req.Files}
	data, err := m.Encode()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return
	}
	// The manifest is stored before the contents are looked up: from then on the collector
	// keeps what it lists, so a content found here stays.
	if err := s.store.Put(ctx, storage.UploadManifestKey(m.ID), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		s.log.Error("store upload manifest", "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	contents := uploads.Contents(req.Files)
	missing, err := s.missingContents(ctx, contents)
	if err != nil {
		s.log.Error("look up uploaded contents", "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	up := api.Upload{ID: m.ID, Missing: make([]string, 0, len(missing)), Files: tot.Files, Bytes: tot.Bytes,
		Contents: tot.Contents, ExpiresAt: now.Add(s.cfg.UploadTTL)}
	for _, m := range missing {
		up.Missing = append(up.Missing, m.SHA256)
		up.MissingBytes += m.Size
	}
	metrics.UploadCreated(len(contents)-len(missing), len(missing))
	s.log.Info("upload created", "upload", m.ID, "files", tot.Files, "bytes", tot.Bytes, "contents", tot.Contents, "missing", len(missing))
	c.JSON(http.StatusCreated, up)
}

// missingContents returns the contents not stored under uploads/blobs/, in the given order.
func (s *Server) missingContents(ctx context.Context, contents []uploads.Content) ([]uploads.Content, error) {
	present := make([]bool, len(contents))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i, ct := range contents {
		g.Go(func() error {
			ok, err := s.store.Exists(gctx, storage.UploadBlobKey(ct.SHA256))
			present[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var missing []uploads.Content
	for i, ct := range contents {
		if !present[i] {
			missing = append(missing, ct)
		}
	}
	return missing, nil
}

// manifestCache keeps the manifests the content route read recently: a folder's contents
// arrive in a burst, each naming its upload.
type manifestCache struct {
	mu sync.Mutex
	m  map[string]map[string]int64 // upload id → content → size
}

const manifestCacheEntries = 64

func (mc *manifestCache) get(id string) (map[string]int64, bool) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	sizes, ok := mc.m[id]
	return sizes, ok
}

func (mc *manifestCache) put(id string, sizes map[string]int64) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.m == nil {
		mc.m = map[string]map[string]int64{}
	}
	if len(mc.m) >= manifestCacheEntries {
		for k := range mc.m { // any one: the cache is a convenience
			delete(mc.m, k)
			break
		}
	}
	mc.m[id] = sizes
}

// readManifest reads an upload's manifest, answering 404 or 503 itself.
func (s *Server) readManifest(c *gin.Context, id string) (*uploads.Manifest, bool) {
	if !uploads.ValidID(id) {
		apiError(c, http.StatusNotFound, "upload "+id+" not found")
		return nil, false
	}
	data, err := s.store.GetBytes(c.Request.Context(), storage.UploadManifestKey(id), manifestBodyLimit(s.cfg.MaxFiles)*2)
	if errors.Is(err, storage.ErrNotFound) {
		apiError(c, http.StatusNotFound, fmt.Sprintf("upload %s not found (uploads are kept for %s after they are made): send the manifest again", id, s.cfg.UploadTTL))
		return nil, false
	}
	if err == nil {
		var m *uploads.Manifest
		if m, err = uploads.ParseManifest(data); err == nil {
			return m, true
		}
	}
	s.log.Error("read upload manifest", "upload", id, "error", err)
	apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
	return nil, false
}

// uploadSizes returns the contents of upload id with their sizes.
func (s *Server) uploadSizes(c *gin.Context, id string) (map[string]int64, bool) {
	if sizes, ok := s.manifests.get(id); ok {
		return sizes, true
	}
	m, ok := s.readManifest(c, id)
	if !ok {
		return nil, false
	}
	sizes := make(map[string]int64, len(m.Files))
	for _, f := range m.Files {
		sizes[f.SHA256] = f.Size
	}
	s.manifests.put(id, sizes)
	return sizes, true
}

// inMemoryContent is the size up to which a content is received in memory, not in a file.
const inMemoryContent = 4 << 20

func (s *Server) putUploadContent(c *gin.Context) {
	id, sha := c.Param("id"), c.Param("sha256")
	if !uploads.ValidSHA256(sha) {
		apiError(c, http.StatusBadRequest, "the content's name must be its sha256: 64 lower-case hex digits")
		return
	}
	sizes, ok := s.uploadSizes(c, id)
	if !ok {
		return
	}
	size, listed := sizes[sha]
	if !listed {
		apiError(c, http.StatusNotFound, "content "+sha+" is not part of upload "+id)
		return
	}
	if cl := c.Request.ContentLength; cl >= 0 && cl != size {
		apiError(c, http.StatusUnprocessableEntity, fmt.Sprintf("content %s is %d bytes in upload %s, not %d", sha, size, id, cl))
		return
	}
	body, cleanup, err := receiveContent(c.Request.Body, sha, size)
	defer cleanup()
	if err != nil {
		var tooBig *http.MaxBytesError
		var bad *badContentError
		switch {
		case errors.As(err, &tooBig):
			apiError(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("a content may be at most %s (SKYDEPLOY_MAX_FILE_BYTES)", bytesize.Format(tooBig.Limit)))
		case errors.As(err, &bad):
			apiError(c, http.StatusUnprocessableEntity, bad.Error())
		default:
			apiError(c, http.StatusBadRequest, "could not read the content: "+err.Error())
		}
		return
	}
	if err := s.store.PutReader(c.Request.Context(), storage.UploadBlobKey(sha), body, size, storage.PutOptions{ContentType: "application/octet-stream"}); err != nil {
		s.log.Error("store uploaded content", "upload", id, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	metrics.UploadContentReceived(size)
	c.JSON(http.StatusCreated, api.UploadedContent{SHA256: sha, Size: size})
}

// badContentError says a content is not what its name and the manifest say.
type badContentError struct{ msg string }

func (e *badContentError) Error() string { return e.msg }

// receiveContent reads exactly size bytes whose SHA-256 is sha from r, into memory or (when
// large) a temporary file, and returns them ready to store; cleanup removes the file.
func receiveContent(r io.Reader, sha string, size int64) (io.ReadSeeker, func(), error) {
	cleanup := func() {}
	h := sha256.New()
	var out io.ReadSeeker
	var n int64
	var err error
	if size <= inMemoryContent {
		var buf bytes.Buffer
		buf.Grow(int(size))
		n, err = io.Copy(io.MultiWriter(&buf, h), io.LimitReader(r, size+1))
		out = bytes.NewReader(buf.Bytes())
	} else {
		f, ferr := os.CreateTemp("", "skydeploy-upload-*")
		if ferr != nil {
			return nil, cleanup, fmt.Errorf("temporary file: %w", ferr)
		}
		cleanup = func() { f.Close(); os.Remove(f.Name()) }
		if n, err = io.Copy(io.MultiWriter(f, h), io.LimitReader(r, size+1)); err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		out = f
	}
	if err != nil {
		return nil, cleanup, err
	}
	if n != size {
		return nil, cleanup, &badContentError{fmt.Sprintf("content %s should be %d bytes; %d arrived", sha, size, n)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return nil, cleanup, &badContentError{fmt.Sprintf("the bytes sent as content %s have the sha256 %s: refused", sha, got)}
	}
	return out, cleanup, nil
}

func (s *Server) deployUpload(c *gin.Context) {
	id := c.Param("id")
	var req api.UploadDeployRequest
	if !bindJSON(c, &req, `{"project": "my-site", "production": true}`) {
		return
	}
	m, ok := s.readManifest(c, id)
	if !ok {
		return
	}
	tot, err := uploads.Check(m.Files, s.uploadLimits())
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	o := detect.Overrides{RootDir: req.RootDir, InstallCommand: req.InstallCommand, BuildCommand: req.BuildCommand, OutputDir: req.OutputDir}
	if err := s.checkUploadDeploy(req, o); err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if !s.uploadComplete(c, m) {
		return
	}
	var p *projects.Project
	if req.Project != "" {
		if p, ok = s.namedProject(c, req.Project); !ok {
			return
		}
	}
	src := api.UploadSource{ID: m.ID, Files: tot.Files, Bytes: tot.Bytes, Prebuilt: req.Prebuilt, Git: req.Git}
	s.startUploadDeployment(c, s.control.UploadDeployInput(p, src, req.Production, o))
}

// checkUploadDeploy validates what a deploy request says beside the upload.
func (s *Server) checkUploadDeploy(req api.UploadDeployRequest, o detect.Overrides) error {
	if err := validateOverrides(o); err != nil {
		return err
	}
	if req.Prebuilt && o != (detect.Overrides{}) {
		return errors.New("prebuilt publishes the folder as it is: rootDir, installCommand, buildCommand and outputDir do not apply")
	}
	if req.Production && req.Project == "" {
		return errors.New("production needs a project: a deployment without one is served at its own URL only")
	}
	return checkUploadGit(req.Git)
}

// checkUploadGit validates the checkout a client describes: shown to people, so bounded.
func checkUploadGit(g *api.UploadGit) error {
	if g == nil {
		return nil
	}
	commit := strings.ToLower(g.Commit)
	if len(commit) != 40 && len(commit) != 64 || repourl.ValidateCommit(commit) != nil || commit != g.Commit {
		return errors.New("git.commit must be a full lower-case commit hash")
	}
	if err := repourl.ValidateBranch(g.Branch); err != nil {
		return fmt.Errorf("git.branch: %w", err)
	}
	for name, v := range map[string]string{"git.message": g.Message, "git.author": g.Author, "git.email": g.Email} {
		if len(v) > 4096 || strings.ContainsRune(v, 0) {
			return fmt.Errorf("%s must be text of at most 4096 bytes", name)
		}
	}
	return nil
}

// uploadComplete checks that every content of m is stored, answering 409 (with what to do)
// or 503 itself when not.
func (s *Server) uploadComplete(c *gin.Context, m *uploads.Manifest) bool {
	missing, err := s.missingContents(c.Request.Context(), uploads.Contents(m.Files))
	if err != nil {
		s.log.Error("look up uploaded contents", "upload", m.ID, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return false
	}
	if len(missing) == 0 {
		return true
	}
	first := ""
	for _, f := range m.Files {
		if f.SHA256 == missing[0].SHA256 {
			first = f.Path
			break
		}
	}
	apiError(c, http.StatusConflict, fmt.Sprintf("upload %s lacks %d of its contents (the content of %s, …): send them with PUT /api/uploads/%s/contents/{sha256}, then deploy again",
		m.ID, len(missing), first, m.ID))
	return false
}

// namedProject loads the project a deploy request names, answering 422 or 503 itself.
func (s *Server) namedProject(c *gin.Context, name string) (*projects.Project, bool) {
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	if ids.ValidateProject(name) != nil {
		apiError(c, http.StatusUnprocessableEntity, "project "+name+" does not exist")
		return nil, false
	}
	p, err := ps.Get(c.Request.Context(), name)
	if errors.Is(err, projects.ErrNotFound) {
		apiError(c, http.StatusUnprocessableEntity, "project "+name+" does not exist")
		return nil, false
	}
	if err != nil {
		s.log.Error("read project", "project", name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return nil, false
	}
	return p, true
}

func (s *Server) startUploadDeployment(c *gin.Context, in workflows.DeployInput) {
	started, err := s.control.Start(c.Request.Context(), in)
	if err != nil {
		s.log.Error("start deployment", "error", err)
		apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable, try again")
		return
	}
	c.JSON(http.StatusAccepted, started)
}

// redeployUpload deploys an uploaded folder's files again under a new id, while the upload is
// kept: the same project, production or preview, settings and checkout.
func (s *Server) redeployUpload(c *gin.Context, d api.Deployment) {
	kept, err := s.store.Exists(c.Request.Context(), storage.UploadManifestKey(d.Upload.ID))
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if !kept {
		apiError(c, http.StatusConflict, fmt.Sprintf("deployment %s was made from an uploaded folder, and upload %s is no longer kept (uploads are kept for %s): deploy the folder again",
			d.ID, d.Upload.ID, s.cfg.UploadTTL))
		return
	}
	m, ok := s.readManifest(c, d.Upload.ID)
	if !ok {
		return
	}
	if !s.uploadComplete(c, m) {
		return
	}
	var p *projects.Project
	if d.Project != "" {
		if p, ok = s.namedProject(c, d.Project); !ok {
			return
		}
	}
	in := s.control.UploadDeployInput(p, *d.Upload, d.Production, d.Overrides)
	in.Trigger = "redeploy"
	s.startUploadDeployment(c, in)
}
