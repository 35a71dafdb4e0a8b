package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workflows"
)

// writeTree writes files (slash path → content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gitIn runs git in dir as a test user.
func gitIn(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Folder Tester", "-c", "user.email=folder@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// gatewayCounter reads one series of the gateway's /metrics (0 when absent).
func (e *env) gatewayCounter(t testing.TB, name string) float64 {
	t.Helper()
	res, err := http.Get(e.api.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s = %q", name, v)
			}
			return f
		}
	}
	return 0
}

const (
	contentsReceived = "skydeploy_upload_contents_received_total"
	uploadsCreated   = "skydeploy_uploads_created_total"
)

// deployedID returns the deployment id the CLI printed.
func deployedID(t *testing.T, r cliResult) string {
	t.Helper()
	m := startedRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no deployment id in the output:\n%s", r)
	}
	return m[1]
}

// distinctContents counts the distinct contents of the files under dir (none ignored).
func distinctContents(t *testing.T, dir string, skip func(rel string) bool) int {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") || skip != nil && skip(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			seen[hex.EncodeToString(sum[:])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(seen)
}

// TestFolderDeploy deploys folders with the skydeploy command on the real stack: a Vite app
// built by the platform, then again after one file changed (exactly one content is sent); a
// prebuilt dist/; a folder attached to a project as production and as a preview, and
// redeployed; a resumed upload; and folders that must not deploy (a symlink to /etc/passwd, a
// file over the limits, hostile manifests sent to the gateway directly).
func TestFolderDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := startEnv(t, func(c *config.Config) { c.MaxFileBytes = 1 << 20 })
	skydeployBinary(t)
	cli := map[string]string{"SKYDEPLOY_API_URL": e.api.URL, "SKYDEPLOY_TOKEN": e.cfg.APIToken}
	get := func(t *testing.T, id string) api.Deployment {
		t.Helper()
		var d api.Deployment
		if code := e.do("GET", "/api/deployments/"+id, nil, &d); code != http.StatusOK {
			t.Fatalf("GET deployment %s = %d", id, code)
		}
		return d
	}
	stepStates := func(d api.Deployment) string {
		var parts []string
		for _, s := range d.Steps {
			parts = append(parts, s.Name+"="+s.State)
		}
		return strings.Join(parts, " ")
	}

	t.Run("vite app, then one file changed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "vite-app")
		writeTree(t, dir, fixture(t, "vite-app"))
		writeTree(t, dir, map[string]string{".gitignore": "dist/\nnode_modules/\n*.log\n", "debug.log": "not uploaded\n"})
		gitIn(t, dir, "init", "-q", "-b", "main")
		gitIn(t, dir, "add", "-A")
		gitIn(t, dir, "commit", "-q", "-m", "Vite app for the folder test")
		head := gitIn(t, dir, "rev-parse", "HEAD")
		want := distinctContents(t, dir, func(rel string) bool { return rel == "debug.log" })

		before := e.gatewayCounter(t, contentsReceived)
		r := runCLI(t, cli, "deploy", dir)
		if r.code != 0 {
			t.Fatalf("deploy failed:\n%s", r)
		}
		id := deployedID(t, r)
		if got := e.gatewayCounter(t, contentsReceived) - before; got != float64(want) {
			t.Errorf("the first deploy sent %v contents, want %d (every distinct content once)", got, want)
		}
		for _, s := range []string{"Deploying folder ", "git main@" + head[:7], "✓ upload ", "✓ detect ", "✓ build ", "✓ publish ", "[build] Running build: npm run build", "✓ Deployed " + id} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("output lacks %q", s)
			}
		}
		d := get(t, id)
		if d.State != "succeeded" || d.Upload == nil || d.Upload.Git == nil || d.Upload.Git.Commit != head || d.Upload.Git.Branch != "main" ||
			d.Upload.Git.Dirty || d.Commit == nil || d.Commit.SHA != head || d.Commit.Message != "Vite app for the folder test" || d.Trigger != "upload" || d.RepoURL != "" {
			t.Fatalf("deployment %s = %+v (upload %+v)", id, d, d.Upload)
		}
		if got := stepStates(d); got != "upload=succeeded detect=succeeded build=succeeded publish=succeeded" {
			t.Errorf("steps: %s", got)
		}
		files := e.published(t, id)
		if _, ok := files["debug.log"]; ok {
			t.Errorf("an ignored file was published")
		}
		bundle := findBundle(t, files)
		if !strings.Contains(bundle, "vite-fixture-marker-42") {
			t.Fatalf("the bundle lacks the app's code")
		}

		// One file changed (and not committed): exactly one content travels.
		main := filepath.Join(dir, "src", "main.js")
		src, _ := os.ReadFile(main)
		if err := os.WriteFile(main, bytes.ReplaceAll(src, []byte("vite-fixture-marker-42"), []byte("vite-fixture-marker-43")), 0o644); err != nil {
			t.Fatal(err)
		}
		before = e.gatewayCounter(t, contentsReceived)
		r = runCLI(t, cli, "deploy", dir)
		if r.code != 0 {
			t.Fatalf("second deploy failed:\n%s", r)
		}
		second := deployedID(t, r)
		if got := e.gatewayCounter(t, contentsReceived) - before; got != 1 {
			t.Errorf("the second deploy sent %v contents, want exactly 1", got)
		}
		if !strings.Contains(r.stdout, fmt.Sprintf("Uploading 1 of %d contents", want)) || !strings.Contains(r.stdout, "with uncommitted changes") {
			t.Errorf("the output does not say one content of %d is sent from a dirty checkout:\n%s", want, r.stdout)
		}
		d = get(t, second)
		if d.Upload == nil || d.Upload.Git == nil || !d.Upload.Git.Dirty {
			t.Errorf("the second deployment does not say its checkout was dirty: %+v", d.Upload)
		}
		if b := findBundle(t, e.published(t, second)); !strings.Contains(b, "vite-fixture-marker-43") {
			t.Errorf("the second bundle lacks the changed code")
		}
	})

	dist := filepath.Join(t.TempDir(), "dist")
	writeTree(t, dist, map[string]string{
		"index.html":       "<!doctype html><h1>prebuilt-marker</h1><script src=/assets/app.js></script>",
		"assets/app.js":    "console.log('prebuilt app')\n",
		"docs/guide.html":  "<h1>Guide</h1>",
		"secret.txt":       "left out by .skydeployignore\n",
		".skydeployignore": "secret.txt\n",
	})
	if err := os.Symlink("index.html", filepath.Join(dist, "home.html")); err != nil {
		t.Fatal(err)
	}
	var prebuiltID string
	t.Run("prebuilt dist", func(t *testing.T) {
		r := runCLI(t, cli, "deploy", dist, "--prebuilt")
		if r.code != 0 {
			t.Fatalf("deploy --prebuilt failed:\n%s", r)
		}
		prebuiltID = deployedID(t, r)
		d := get(t, prebuiltID)
		if got := stepStates(d); got != "upload=succeeded detect=skipped build=skipped publish=succeeded" {
			t.Errorf("steps: %s", got)
		}
		if d.Upload == nil || !d.Upload.Prebuilt || d.Upload.Git != nil || d.Commit != nil || d.Plan == nil || d.Plan.FrameworkName != "Prebuilt" {
			t.Errorf("deployment = %+v (upload %+v)", d, d.Upload)
		}
		files := e.published(t, prebuiltID)
		if files["home.html"] != files["index.html"] || files["assets/app.js"] != "console.log('prebuilt app')\n" || files["docs/guide.html"] == "" {
			t.Errorf("published %v", keys(files))
		}
		if _, ok := files["secret.txt"]; ok {
			t.Errorf("a file listed in .skydeployignore was published")
		}
		res, body := e.fetchSite(prebuiltID+".localhost", "/")
		if res.StatusCode != 200 || !strings.Contains(string(body), "prebuilt-marker") {
			t.Errorf("GET / = %d %q", res.StatusCode, body)
		}
	})

	t.Run("project: production, preview, redeploy", func(t *testing.T) {
		repo := e.git.NewRepo(t, "folder-project", map[string]string{"index.html": "<h1>from git</h1>"})
		if code := e.do("POST", "/api/projects", map[string]any{"name": "folders", "repoUrl": repo.URL,
			"watch": map[string]any{"enabled": false}}, nil); code != http.StatusCreated {
			t.Fatalf("create project = %d", code)
		}
		r := runCLI(t, cli, "deploy", dist, "--prebuilt", "--project", "folders", "--prod")
		if r.code != 0 || !strings.Contains(r.stdout, "production of project folders") {
			t.Fatalf("deploy --prod:\n%s", r)
		}
		prod := deployedID(t, r)
		var p api.Project
		if e.do("GET", "/api/projects/folders", nil, &p); p.LiveDeploymentID != prod {
			t.Fatalf("the project serves %q, want %s", p.LiveDeploymentID, prod)
		}
		if res, body := e.fetchSite("folders.localhost", "/"); res.StatusCode != 200 || !strings.Contains(string(body), "prebuilt-marker") {
			t.Errorf("the project's URL = %d %q", res.StatusCode, body)
		}
		other := filepath.Join(t.TempDir(), "preview")
		writeTree(t, other, map[string]string{"index.html": "<h1>a preview</h1>"})
		r = runCLI(t, cli, "deploy", other, "--prebuilt", "--project", "folders")
		if r.code != 0 {
			t.Fatalf("deploy of a preview:\n%s", r)
		}
		preview := deployedID(t, r)
		if d := get(t, preview); d.Production || d.Project != "folders" || d.Branch != "" {
			t.Errorf("preview deployment = %+v", d.DeploymentStatus)
		}
		if e.do("GET", "/api/projects/folders", nil, &p); p.LiveDeploymentID != prod {
			t.Errorf("a preview replaced production: the project serves %q", p.LiveDeploymentID)
		}
		var again api.StartedDeployment
		if code := e.do("POST", "/api/deployments/"+prebuiltID+"/redeploy", nil, &again); code != http.StatusAccepted {
			t.Fatalf("redeploy of an uploaded folder = %d", code)
		}
		if d := e.wait(again.ID, time.Minute); d.State != "succeeded" || d.Upload == nil || d.Upload.ID == "" || d.Trigger != "redeploy" {
			t.Errorf("redeployed: %s %s %+v", d.State, d.Error, d.Upload)
		}
	})

	t.Run("interrupted upload resumes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "resume")
		writeTree(t, dir, map[string]string{"index.html": "<h1>resume</h1>", "a.css": "a{}", "b.js": "b()", "c.txt": "c"})
		// A first attempt sent its manifest and one content, then stopped.
		files := []api.UploadFile{}
		for _, name := range []string{"a.css", "b.js", "c.txt", "index.html"} {
			data, _ := os.ReadFile(filepath.Join(dir, name))
			sum := sha256.Sum256(data)
			files = append(files, api.UploadFile{Path: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Mode: api.ModeFile})
		}
		var up api.Upload
		if code := e.do("POST", "/api/uploads", api.UploadRequest{Files: files}, &up); code != http.StatusCreated || len(up.Missing) != 4 {
			t.Fatalf("POST /api/uploads = %d %+v", code, up)
		}
		if code := e.putContent(t, up.ID, files[0].SHA256, []byte("a{}")); code != http.StatusCreated {
			t.Fatalf("PUT content = %d", code)
		}
		before := e.gatewayCounter(t, contentsReceived)
		r := runCLI(t, cli, "deploy", dir, "--no-follow")
		if r.code != 0 || !strings.Contains(r.stdout, "Uploading 3 of 4 contents") {
			t.Fatalf("resumed deploy:\n%s", r)
		}
		if got := e.gatewayCounter(t, contentsReceived) - before; got != 3 {
			t.Errorf("the resumed upload sent %v contents, want 3", got)
		}
		if d := e.wait(deployedID(t, r), time.Minute); d.State != "succeeded" {
			t.Errorf("resumed deployment: %s: %s", d.State, d.Error)
		}
	})

	t.Run("symlink to /etc/passwd", func(t *testing.T) {
		tallyHostile(t, "folder with a symlink to /etc/passwd")
		dir := filepath.Join(t.TempDir(), "linked")
		writeTree(t, dir, map[string]string{"index.html": "<h1>links</h1>"})
		if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd.txt")); err != nil {
			t.Fatal(err)
		}
		e.noDeploymentFrom(t, func() cliResult { return runCLI(t, cli, "deploy", dir) },
			"passwd.txt is a symbolic link to /etc/passwd, outside the folder")
	})

	t.Run("over the limits", func(t *testing.T) {
		tallyHostile(t, "folder with a file over SKYDEPLOY_MAX_FILE_BYTES")
		dir := filepath.Join(t.TempDir(), "big")
		writeTree(t, dir, map[string]string{"index.html": "<h1>big</h1>", "video.bin": strings.Repeat("x", 2<<20)})
		e.noDeploymentFrom(t, func() cliResult { return runCLI(t, cli, "deploy", dir) },
			"video.bin is 2 MiB, larger than the limit of 1 MiB for one file (SKYDEPLOY_MAX_FILE_BYTES)")
	})

	t.Run("the gateway enforces", func(t *testing.T) {
		tallyHostile(t, "upload manifest with ../ paths", "upload manifest with .git paths", "upload manifest over the file limit",
			"uploaded content that is not its hash", "uploaded content larger than declared", "content not in the manifest", "deploy of an incomplete upload")
		sha := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
		good := api.UploadFile{Path: "index.html", SHA256: sha("<h1>x</h1>"), Size: 10, Mode: api.ModeFile}
		for _, tc := range []struct {
			file api.UploadFile
			want string
		}{
			{api.UploadFile{Path: "../escape.html", SHA256: good.SHA256, Size: 10, Mode: api.ModeFile}, "not a clean relative path"},
			{api.UploadFile{Path: ".git/config", SHA256: good.SHA256, Size: 10, Mode: api.ModeFile}, ".git directory"},
			{api.UploadFile{Path: "/etc/passwd", SHA256: good.SHA256, Size: 10, Mode: api.ModeFile}, "not a clean relative path"},
			{api.UploadFile{Path: "big.bin", SHA256: sha("big"), Size: 2 << 20, Mode: api.ModeFile}, "SKYDEPLOY_MAX_FILE_BYTES"},
			{api.UploadFile{Path: "x.sh", SHA256: good.SHA256, Size: 10, Mode: 0o4755}, "mode"},
		} {
			var out api.Error
			if code := e.do("POST", "/api/uploads", api.UploadRequest{Files: []api.UploadFile{good, tc.file}}, &out); code != http.StatusUnprocessableEntity || !strings.Contains(out.Error, tc.want) {
				t.Errorf("manifest with %+v = %d %q, want 422 saying %q", tc.file, code, out.Error, tc.want)
			}
		}
		var up api.Upload
		if code := e.do("POST", "/api/uploads", api.UploadRequest{Files: []api.UploadFile{good}}, &up); code != http.StatusCreated {
			t.Fatalf("POST /api/uploads = %d", code)
		}
		if code := e.putContent(t, up.ID, good.SHA256, []byte("<h1>y</h1>")); code != http.StatusUnprocessableEntity {
			t.Errorf("content that is not its hash = %d, want 422", code)
		}
		if code := e.putContent(t, up.ID, good.SHA256, []byte("<h1>x</h1> and more")); code != http.StatusUnprocessableEntity {
			t.Errorf("content longer than declared = %d, want 422", code)
		}
		if code := e.putContent(t, up.ID, sha("other"), []byte("other")); code != http.StatusNotFound {
			t.Errorf("content not in the manifest = %d, want 404", code)
		}
		if ok, _ := e.stack.S3.Store().Exists(context.Background(), storage.UploadBlobKey(good.SHA256)); ok {
			t.Fatalf("a refused content was stored")
		}
		var out api.Error
		if code := e.do("POST", "/api/uploads/"+up.ID+"/deploy", map[string]any{}, &out); code != http.StatusConflict || !strings.Contains(out.Error, "lacks 1 of its contents") {
			t.Errorf("deploy of an incomplete upload = %d %q, want 409", code, out.Error)
		}
		if code := e.do("POST", "/api/uploads/u000000000000000000000000/deploy", map[string]any{}, &out); code != http.StatusNotFound {
			t.Errorf("deploy of an unknown upload = %d, want 404", code)
		}
	})
}

// putContent sends one content of an upload to the gateway.
func (e *env) putContent(t testing.TB, uploadID, sha string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", e.api.URL+"/api/uploads/"+uploadID+"/contents/"+sha, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.cfg.APIToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// noDeploymentFrom runs a deploy that must fail before sending anything: exit 1, stderr
// saying why, no upload made and no deployment started.
func (e *env) noDeploymentFrom(t *testing.T, run func() cliResult, want string) {
	t.Helper()
	var before api.DeploymentList
	e.do("GET", "/api/deployments?pageSize=100", nil, &before)
	uploadsBefore := e.gatewayCounter(t, uploadsCreated)
	r := run()
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("want exit 1 saying %q:\n%s", want, r)
	}
	if strings.Contains(r.stdout, "Deployment ") {
		t.Errorf("a deployment was started:\n%s", r.stdout)
	}
	if got := e.gatewayCounter(t, uploadsCreated) - uploadsBefore; got != 0 {
		t.Errorf("%v uploads were made", got)
	}
	var after api.DeploymentList
	e.do("GET", "/api/deployments?pageSize=100", nil, &after)
	if len(after.Deployments) != len(before.Deployments) {
		t.Errorf("deployments went from %d to %d", len(before.Deployments), len(after.Deployments))
	}
}

var bundleRE = regexp.MustCompile(`src="/assets/(index-[A-Za-z0-9_-]+\.js)"`)

// findBundle returns the JavaScript bundle a built Vite index.html loads.
func findBundle(t *testing.T, files map[string]string) string {
	t.Helper()
	m := bundleRE.FindStringSubmatch(files["index.html"])
	if m == nil {
		t.Fatalf("index.html loads no hashed bundle; files %v", keys(files))
	}
	return files["assets/"+m[1]]
}

// TestFolderUploadCollection: the schedule collect-uploads exists, and a run deletes manifests
// older than SKYDEPLOY_UPLOAD_TTL and the old contents no remaining manifest lists, keeping an
// old content that a recent manifest lists.
func TestFolderUploadCollection(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := startEnv(t, func(c *config.Config) { c.UploadTTL = 6 * time.Second })
	ctx := context.Background()
	store := e.stack.S3.Store()
	file := func(name, content string) api.UploadFile {
		sum := sha256.Sum256([]byte(content))
		return api.UploadFile{Path: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), Mode: api.ModeFile}
	}
	upload := func(files ...api.UploadFile) string {
		var up api.Upload
		if code := e.do("POST", "/api/uploads", api.UploadRequest{Files: files}, &up); code != http.StatusCreated {
			t.Fatalf("POST /api/uploads = %d", code)
		}
		return up.ID
	}
	old, shared, fresh := file("old.html", "<h1>only in the old upload</h1>"), file("shared.css", "body{}"), file("new.html", "<h1>new</h1>")
	stale := upload(old, shared)
	for _, f := range []struct {
		f       api.UploadFile
		content string
	}{{old, "<h1>only in the old upload</h1>"}, {shared, "body{}"}} {
		if code := e.putContent(t, stale, f.f.SHA256, []byte(f.content)); code != http.StatusCreated {
			t.Fatalf("PUT = %d", code)
		}
	}
	time.Sleep(7 * time.Second)
	recent := upload(shared, fresh)
	if code := e.putContent(t, recent, fresh.SHA256, []byte("<h1>new</h1>")); code != http.StatusCreated {
		t.Fatalf("PUT = %d", code)
	}

	tc, err := platform.TemporalClient(ctx, e.cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	desc, err := tc.ScheduleClient().GetHandle(ctx, workflows.CollectUploadsScheduleID).Describe(ctx)
	if err != nil {
		t.Fatalf("the schedule collect-uploads: %v", err)
	}
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != control.CollectUploadsEvery(6*time.Second) {
		t.Errorf("schedule intervals %+v", iv)
	}
	if err := control.New(tc, control.SettingsFrom(e.cfg), testenv.Logger(t)).CollectUploadsNow(ctx); err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		ok, err := store.Exists(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	deadline := time.Now().Add(time.Minute)
	for exists(storage.UploadManifestKey(stale)) {
		if time.Now().After(deadline) {
			t.Fatalf("the stale upload %s was not collected", stale)
		}
		time.Sleep(300 * time.Millisecond)
	}
	run := waitWorkflow(t, tc, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", workflows.CollectUploadsWorkflowName), time.Minute)
	var res workflows.CollectUploadsResult
	if err := tc.GetWorkflow(ctx, run.Execution.WorkflowId, run.Execution.RunId).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.ManifestsDeleted != 1 || res.ContentsDeleted != 1 || res.ManifestsKept != 1 {
		t.Errorf("collection result %+v", res)
	}
	if exists(storage.UploadBlobKey(old.SHA256)) {
		t.Errorf("the old content no manifest lists was kept")
	}
	for _, f := range []api.UploadFile{shared, fresh} {
		if !exists(storage.UploadBlobKey(f.SHA256)) {
			t.Errorf("%s, listed by a recent upload, was deleted", f.Path)
		}
	}
	if !exists(storage.UploadManifestKey(recent)) {
		t.Errorf("the recent upload was deleted")
	}
}

// TestRecordUploadHistory records the history of a deployment of an uploaded folder (upload,
// detect, publish) into workflows/testdata/deploy-upload-history.json, and of a run of the
// schedule collect-uploads into collect-uploads-history.json, which the replay test in
// workflows/ replays. It only runs when asked, like TestRecordWorkflowHistories:
// SKYDEPLOY_RECORD_HISTORIES=1 go test ./e2e/ -run TestRecordUploadHistory.
func TestRecordUploadHistory(t *testing.T) {
	if os.Getenv("SKYDEPLOY_RECORD_HISTORIES") != "1" {
		t.Skip("set SKYDEPLOY_RECORD_HISTORIES=1 to record workflow histories into workflows/testdata/")
	}
	e := startEnv(t, nil)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "site")
	writeTree(t, dir, map[string]string{"index.html": "<h1>recorded upload</h1>", "css/site.css": "h1{color:teal}"})
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "recorded")
	r := runCLI(t, map[string]string{"SKYDEPLOY_API_URL": e.api.URL, "SKYDEPLOY_TOKEN": e.cfg.APIToken}, "deploy", dir)
	if r.code != 0 {
		t.Fatalf("deploy:\n%s", r)
	}
	id := deployedID(t, r)
	tc, err := platform.TemporalClient(ctx, e.cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	dir = filepath.Join(testenv.RepoRoot(t), "workflows", "testdata")
	saveHistory(t, tc, dir, "deploy-upload", "deploy-"+id, "", e.cfg.APIToken, e.cfg.S3SecretKey)

	// A run of the schedule collect-uploads.
	if err := control.New(tc, control.SettingsFrom(e.cfg), testenv.Logger(t)).CollectUploadsNow(ctx); err != nil {
		t.Fatal(err)
	}
	run := waitWorkflow(t, tc, fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", workflows.CollectUploadsWorkflowName), time.Minute)
	saveHistory(t, tc, dir, "collect-uploads", run.Execution.WorkflowId, run.Execution.RunId, e.cfg.APIToken, e.cfg.S3SecretKey)
}
