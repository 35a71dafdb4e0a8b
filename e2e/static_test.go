package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

var staticSite = map[string]string{
	"index.html":       "<!doctype html><title>Hello</title><h1>static-marker-1</h1><link rel=stylesheet href=/css/site.css>",
	"css/site.css":     "body { color: #123456; }\n" + strings.Repeat("/* padding to make it compressible */\n", 40),
	"about.html":       "<h1>About</h1>",
	"docs/index.html":  "<h1>Docs</h1>",
	"js/app.js":        "console.log('hi');\n",
	"img/pixel.svg":    `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`,
	"README.md":        "# readme\n",
	"data/config.json": `{"a": 1}`,
}

func TestStaticSiteDeploysEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, nil)
	repo := e.git.NewRepo(t, "static-site", staticSite)

	started := e.deploy(map[string]any{"repoUrl": repo.URL, "branch": "main"})
	if started.ID == "" || !strings.Contains(started.URL, started.ID+".localhost") {
		t.Fatalf("start answer = %+v", started)
	}
	d := e.wait(started.ID, 2*time.Minute)
	if d.State != "succeeded" {
		t.Fatalf("deployment %s: %s: %s", started.ID, d.State, d.Error)
	}
	if d.Commit == nil || d.Commit.SHA != repo.Head() || d.Commit.Message != "initial commit" || d.Commit.Author != "Dev Eloper" {
		t.Fatalf("commit = %+v, want %s by Dev Eloper", d.Commit, repo.Head())
	}
	if d.Plan == nil || d.Plan.Kind != "static" {
		t.Fatalf("plan = %+v", d.Plan)
	}
	for _, st := range d.Steps {
		want := "succeeded"
		if st.Name == "build" {
			want = "skipped"
		}
		if st.State != want {
			t.Errorf("step %s = %s, want %s", st.Name, st.State, want)
		}
	}

	// The manifest lists every file with size, type and hash, and each blob holds its bytes.
	store := e.stack.S3.Store()
	ctx := context.Background()
	data, err := store.GetBytes(ctx, storage.ManifestKey(started.ID), 1<<20)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != len(staticSite) {
		t.Fatalf("manifest has %d files, want %d", len(m.Files), len(staticSite))
	}
	for _, f := range m.Files {
		blob, err := store.GetBytes(ctx, storage.BlobKey(f.SHA256), 1<<20)
		if err != nil {
			t.Fatalf("blob of %s: %v", f.Path, err)
		}
		if string(blob) != staticSite[f.Path] || f.Size != int64(len(blob)) {
			t.Errorf("blob of %s differs from the repository file", f.Path)
		}
	}

	// The request handler serves every file byte for byte with its content type, the directory
	// index, and a 404 for what does not exist.
	host := started.ID + ".localhost"
	for path, content := range staticSite {
		res, body := e.fetchSite(host, "/"+path)
		if res.StatusCode != http.StatusOK || string(body) != content {
			t.Errorf("GET /%s = %d, %d bytes; want the repository's %d bytes", path, res.StatusCode, len(body), len(content))
		}
	}
	for path, want := range map[string]string{"/": staticSite["index.html"], "/docs/": staticSite["docs/index.html"], "/about": staticSite["about.html"]} {
		if res, body := e.fetchSite(host, path); res.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s = %d %q", path, res.StatusCode, body)
		}
	}
	if res, _ := e.fetchSite(host, "/css/site.css"); res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("site.css Content-Type = %q", res.Header.Get("Content-Type"))
	}
	if res, _ := e.fetchSite(host, "/nope.html"); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing file = %d, want 404", res.StatusCode)
	}
	if res, _ := e.fetchSite("9zzzzzzzzzzz.localhost", "/"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown deployment = %d, want 404", res.StatusCode)
	}

	// The log stream has lines of every step and ends with the final status.
	events := e.readLog(started.ID, "", 30*time.Second)
	text := logText(events)
	for _, want := range []string{"[clone] Cloning " + repo.URL, "[clone] Cloned commit", "[detect] Detected", "[upload] Uploaded source snapshot", "[publish] Manifest written"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
	var end struct{ Status string }
	_ = json.Unmarshal([]byte(events[len(events)-1].Data), &end)
	if end.Status != "succeeded" {
		t.Errorf("end event = %+v", events[len(events)-1])
	}

	// The list (from Temporal visibility) shows it.
	var list struct {
		Deployments []struct{ ID, Status string } `json:"deployments"`
	}
	deadline := time.Now().Add(20 * time.Second)
	found := false
	for !found && time.Now().Before(deadline) {
		e.do("GET", "/api/deployments", nil, &list)
		for _, dep := range list.Deployments {
			found = found || (dep.ID == started.ID && dep.Status == "succeeded")
		}
		if !found {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !found {
		t.Errorf("GET /api/deployments does not list %s as succeeded: %+v", started.ID, list)
	}
}
