package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skydeploy/skydeploy/internal/api"
)

// uploadGateway is a gateway that speaks the upload protocol, in memory.
type uploadGateway struct {
	mu       sync.Mutex
	limits   api.UploadLimits
	stored   map[string][]byte
	puts     map[string]int
	uploads  int
	deploys  []api.UploadDeployRequest
	failPuts int  // answer 503 to this many PUTs first
	conflict bool // answer 409 to the first deploy, forgetting every content
}

func (g *uploadGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	answer := func(code int, v any) { w.WriteHeader(code); _ = json.NewEncoder(w).Encode(v) }
	switch {
	case r.URL.Path == "/api/config":
		answer(200, api.Config{Uploads: g.limits})
	case r.Method == "POST" && r.URL.Path == "/api/uploads":
		var req api.UploadRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		g.uploads++
		up := api.Upload{ID: "u0123456789abcdef01234567", Missing: []string{}}
		seen := map[string]bool{}
		for _, f := range req.Files {
			if seen[f.SHA256] {
				continue
			}
			seen[f.SHA256] = true
			up.Contents++
			if g.stored[f.SHA256] == nil {
				up.Missing = append(up.Missing, f.SHA256)
				up.MissingBytes += f.Size
			}
		}
		answer(201, up)
	case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/api/uploads/u0123456789abcdef01234567/contents/"):
		sha := filepath.Base(r.URL.Path)
		data, _ := io.ReadAll(r.Body)
		if g.failPuts > 0 {
			g.failPuts--
			answer(503, api.Error{Error: "object storage is unavailable, try again"})
			return
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != sha || int64(len(data)) != r.ContentLength {
			answer(422, api.Error{Error: "not its hash"})
			return
		}
		g.stored[sha] = data
		g.puts[sha]++
		answer(201, api.UploadedContent{SHA256: sha, Size: int64(len(data))})
	case r.Method == "POST" && r.URL.Path == "/api/uploads/u0123456789abcdef01234567/deploy":
		var req api.UploadDeployRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		g.deploys = append(g.deploys, req)
		if g.conflict {
			g.conflict = false
			g.stored = map[string][]byte{}
			answer(409, api.Error{Error: "upload u0123456789abcdef01234567 lacks 2 of its contents"})
			return
		}
		answer(202, api.StartedDeployment{ID: "k3x9a2m4p7qd", URL: "http://k3x9a2m4p7qd.localhost:3002/", WorkflowID: "deploy-k3x9a2m4p7qd"})
	default:
		answer(404, api.Error{Error: "no route"})
	}
}

func startUploadGateway(t *testing.T, g *uploadGateway) {
	t.Helper()
	g.stored, g.puts = map[string][]byte{}, map[string]int{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	isolate(t)
	t.Setenv("SKYDEPLOY_API_URL", srv.URL)
	t.Setenv("SKYDEPLOY_TOKEN", "skd_test")
}

func folderFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range map[string]string{"index.html": "<h1>home</h1>", "a.css": "a{}", "copy.css": "a{}", "skip.log": "x", ".gitignore": "*.log\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// TestDeployFolderSendsOnlyMissingContents: the manifest lists the folder (ignore files
// honoured), only contents the gateway lacks are sent, each once, a passing failure is tried
// again, and the progress is plain lines off a terminal.
func TestDeployFolderSendsOnlyMissingContents(t *testing.T) {
	g := &uploadGateway{limits: api.UploadLimits{MaxFiles: 100, MaxFileBytes: 1 << 20, MaxBytes: 10 << 20}, failPuts: 1}
	startUploadGateway(t, g)
	g.stored[sha("<h1>home</h1>")] = []byte("<h1>home</h1>")
	dir := folderFixture(t)
	out, stderr, err := output(t, func() error {
		return runDeploy(context.Background(), []string{dir, "--no-follow", "--project", "blog", "--prod", "--prebuilt"})
	})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	for _, want := range []string{"(prebuilt; production of project blog)", "4 files, ", "Uploading 2 of 3 contents (", "1 already on the server",
		"Uploaded 2 contents", "Deployment k3x9a2m4p7qd started"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") || strings.Contains(out, "\x1b[") {
		t.Errorf("progress redrawn off a terminal:\n%q", out)
	}
	if len(g.puts) != 2 || g.puts[sha("a{}")] != 1 || g.puts[sha("*.log\n")] != 1 { // a.css and copy.css share one; .gitignore; not skip.log
		t.Errorf("contents sent: %v", g.puts)
	}
	if len(g.deploys) != 1 || g.deploys[0].Project != "blog" || !g.deploys[0].Production || !g.deploys[0].Prebuilt {
		t.Errorf("deploy requests %+v", g.deploys)
	}
}

// TestDeployFolderUploadsAgainAfterAConflict: when the gateway says contents are missing at
// deploy time (collected meanwhile), the client asks again and sends them again.
func TestDeployFolderUploadsAgainAfterAConflict(t *testing.T) {
	g := &uploadGateway{limits: api.UploadLimits{MaxFiles: 100}, conflict: true}
	startUploadGateway(t, g)
	_, stderr, err := output(t, func() error { return runDeploy(context.Background(), []string{folderFixture(t), "--no-follow"}) })
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	if g.uploads != 2 || len(g.deploys) != 2 || g.puts[sha("a{}")] != 2 || !strings.Contains(stderr, "uploading again") {
		t.Errorf("manifests %d, deploys %d, puts %v, stderr %q", g.uploads, len(g.deploys), g.puts, stderr)
	}
}

// TestDeployFolderRefusedBeforeSending: a folder over the gateway's limits, or a symlink out
// of it, fails before any manifest is sent; flags that do not apply are usage errors.
func TestDeployFolderRefusedBeforeSending(t *testing.T) {
	g := &uploadGateway{limits: api.UploadLimits{MaxFiles: 3}}
	startUploadGateway(t, g)
	_, _, err := output(t, func() error { return runDeploy(context.Background(), []string{folderFixture(t)}) })
	if err == nil || !strings.Contains(err.Error(), "the folder has 4 files, more than the limit of 3 (SKYDEPLOY_MAX_FILES)") {
		t.Errorf("over the file limit: %v", err)
	}
	g.limits.MaxFiles = 100
	dir := folderFixture(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	_, _, err = output(t, func() error { return runDeploy(context.Background(), []string{dir}) })
	if err == nil || !strings.Contains(err.Error(), "passwd is a symbolic link to /etc/passwd, outside the folder") {
		t.Errorf("a link out of the folder: %v", err)
	}
	if g.uploads != 0 {
		t.Errorf("%d manifests were sent", g.uploads)
	}
	for _, args := range [][]string{{dir, "--prod"}, {dir, "--branch", "main"}} {
		if _, _, err := output(t, func() error { return runDeploy(context.Background(), args) }); exitCode(err) != 2 {
			t.Errorf("deploy %q: exit %d, want 2", args, exitCode(err))
		}
	}
}
