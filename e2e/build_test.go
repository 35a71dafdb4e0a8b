package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

// fixture reads a directory of e2e/testdata into a repository file map.
func fixture(t *testing.T, name string) map[string]string {
	return testenv.ReadTree(t, filepath.Join("testdata", name))
}

// published returns the files of a deployment's manifest with their content.
func (e *env) published(t *testing.T, id string) map[string]string {
	t.Helper()
	store := e.stack.S3.Store()
	ctx := context.Background()
	data, err := store.GetBytes(ctx, storage.ManifestKey(id), 1<<20)
	if err != nil {
		t.Fatalf("manifest of %s: %v", id, err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range m.Files {
		blob, err := store.GetBytes(ctx, storage.BlobKey(f.SHA256), 16<<20)
		if err != nil {
			t.Fatalf("blob of %s: %v", f.Path, err)
		}
		out[f.Path] = string(blob)
	}
	return out
}

func (e *env) hasManifest(id string) bool {
	ok, err := e.stack.S3.Store().Exists(context.Background(), storage.ManifestKey(id))
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

// deployRepo deploys a repository's main branch and waits for the end.
func (e *env) deployRepo(t *testing.T, repoURL string, timeout time.Duration) (string, string, string) {
	t.Helper()
	started := e.deploy(map[string]any{"repoUrl": repoURL, "branch": "main"})
	d := e.wait(started.ID, timeout)
	return started.ID, d.State, d.Error
}

// Secrets the worker holds; none may reach a build.
const (
	fakeGitHubToken = "ghp_e2eFakeGithubToken0123456789abcdef"
	fakeAPIToken    = "skyd_e2e_api_token_9f8e7d6c5b4a"
	fakeEnvSecret   = "process-env-secret-5a4b3c2d1e"
)

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	// Secrets in the worker's own process environment.
	t.Setenv("SKYDEPLOY_S3_SECRET_KEY", "s3-secret-from-env-0123456789")
	t.Setenv("AWS_SECRET_ACCESS_KEY", fakeEnvSecret)
	t.Setenv("GITHUB_TOKEN", fakeGitHubToken)
	e := startEnv(t, func(c *config.Config) {
		c.GitHubToken = fakeGitHubToken
		c.APIToken = fakeAPIToken
	})

	t.Run("vite", func(t *testing.T) {
		repo := e.git.NewRepo(t, "vite-app", fixture(t, "vite-app"))
		id, state, msg := e.deployRepo(t, repo.URL, 3*time.Minute)
		if state != "succeeded" {
			t.Fatalf("deployment %s: %s: %s\n%s", id, state, msg, logText(e.readLog(id, "", 30*time.Second)))
		}
		files := e.published(t, id)
		index := files["index.html"]
		js := regexp.MustCompile(`src="/assets/(index-[A-Za-z0-9_-]+\.js)"`).FindStringSubmatch(index)
		if js == nil {
			t.Fatalf("built index.html does not load a hashed bundle:\n%s\nfiles: %v", index, keys(files))
		}
		bundle, ok := files["assets/"+js[1]]
		if !ok || !strings.Contains(bundle, "vite-fixture-marker-42") || !strings.Contains(bundle, "built by Vite") {
			t.Fatalf("bundle assets/%s lacks the app's code:\n%.500s", js[1], bundle)
		}
		if strings.Contains(bundle, "import ") {
			t.Errorf("bundle still has ES imports: it was not built")
		}
		for p := range files {
			if strings.HasPrefix(p, "src/") || strings.HasPrefix(p, "node_modules/") || strings.HasPrefix(p, ".skydeploy/") || p == "package.json" {
				t.Errorf("published %s, which is not build output", p)
			}
		}
		text := logText(e.readLog(id, "", 30*time.Second))
		// npm 11 runs a dependency's install scripts only when package.json approves them: the
		// log says which it skipped and how to allow them.
		if npmMajor(t) >= 11 {
			if !strings.Contains(text, "Install scripts: ") || !strings.Contains(text, "NOT run: esbuild@") || !strings.Contains(text, "npm install-scripts approve esbuild") {
				t.Errorf("build log does not report esbuild's skipped install script:\n%s", grepLines(text, "nstall"))
			}
		}
		for _, want := range []string{"[build] Running install: npm ci", "[build] Running build: npm run build", "built in", "[build] Build cache: installed dependencies saved to this repository's cache", "[build] timing: "} {
			if !strings.Contains(text, want) {
				t.Errorf("build log lacks %q:\n%s", want, text)
			}
		}

		// The second build of the same repository and lockfile restores node_modules.
		id2, state, msg := e.deployRepo(t, repo.URL, 3*time.Minute)
		if state != "succeeded" {
			t.Fatalf("warm deployment %s: %s: %s", id2, state, msg)
		}
		text = logText(e.readLog(id2, "", 30*time.Second))
		if !strings.Contains(text, "Installed dependencies restored from this repository's cache") || !strings.Contains(text, "npm ci skipped") {
			t.Errorf("warm build did not use the cache:\n%s", text)
		}
		if got := e.published(t, id2)["index.html"]; got != index {
			t.Errorf("warm build published another index.html:\n%s", got)
		}
	})

	t.Run("eleventy", func(t *testing.T) {
		repo := e.git.NewRepo(t, "eleventy-site", fixture(t, "eleventy-site"))
		id, state, msg := e.deployRepo(t, repo.URL, 3*time.Minute)
		if state != "succeeded" {
			t.Fatalf("deployment %s: %s: %s\n%s", id, state, msg, logText(e.readLog(id, "", 30*time.Second)))
		}
		files := e.published(t, id)
		if !strings.Contains(files["index.html"], "<h1") || !strings.Contains(files["index.html"], "eleventy-fixture-marker-7") {
			t.Errorf("index.html was not rendered from index.md: %q", files["index.html"])
		}
		if !strings.Contains(files["posts/first/index.html"], "A post rendered by Eleventy.") {
			t.Errorf("post missing; published %v", keys(files))
		}
	})

	t.Run("secrets stay out of the build", func(t *testing.T) {
		repo := e.git.NewRepo(t, "env-printer", map[string]string{
			"package.json": `{"name":"env-printer","private":true,"scripts":{"build":"env; mkdir -p dist; echo ok > dist/index.html"}}`,
		})
		id, state, msg := e.deployRepo(t, repo.URL, 2*time.Minute)
		if state != "succeeded" {
			t.Fatalf("deployment %s: %s: %s", id, state, msg)
		}
		text := logText(e.readLog(id, "", 30*time.Second))
		if !strings.Contains(text, "HOME=") || !strings.Contains(text, "CI=1") {
			t.Fatalf("the build did not print its environment:\n%s", text)
		}
		secrets := []string{e.cfg.S3SecretKey, e.cfg.S3AccessKey, e.cfg.RedisURL, fakeGitHubToken, fakeAPIToken, fakeEnvSecret,
			"s3-secret-from-env-0123456789", e.cfg.TemporalAddress}
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("the build log contains the secret %q", s)
			}
		}
		for _, name := range []string{"SKYDEPLOY_S3_SECRET_KEY=", "AWS_SECRET_ACCESS_KEY=", "GITHUB_TOKEN="} {
			if strings.Contains(text, name) {
				t.Errorf("the build saw the worker's variable %s", name)
			}
		}
	})

	t.Run("symlink out of the output", func(t *testing.T) {
		repo := e.git.NewRepo(t, "link-out", map[string]string{
			"package.json": `{"name":"link-out","private":true,"scripts":{"build":"mkdir -p dist && echo hi > dist/index.html && ln -s /etc/passwd dist/passwd"}}`,
		})
		id, state, msg := e.deployRepo(t, repo.URL, 2*time.Minute)
		if state != "failed" {
			t.Fatalf("deployment %s: %s, want failed", id, state)
		}
		want := "build output contains dist/passwd, a symlink to /etc/passwd outside the workspace; refusing to publish"
		if !strings.Contains(msg, want) {
			t.Errorf("error = %q, want it to say %q", msg, want)
		}
		if e.hasManifest(id) {
			t.Errorf("a manifest was written for %s", id)
		}
	})

	t.Run("build failure shows its output", func(t *testing.T) {
		repo := e.git.NewRepo(t, "fails", map[string]string{
			"package.json": `{"name":"fails","private":true,"scripts":{"build":"echo compiling; echo 'error: the-build-broke' >&2; exit 3"}}`,
		})
		id, state, msg := e.deployRepo(t, repo.URL, 2*time.Minute)
		if state != "failed" || !strings.Contains(msg, "exited with code") || !strings.Contains(msg, "the-build-broke") {
			t.Errorf("deployment %s: %s: %q", id, state, msg)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		repo := e.git.NewRepo(t, "sleeper", map[string]string{
			"package.json": `{"name":"sleeper","private":true,"scripts":{"build":"sleep 600"}}`,
		})
		started := e.deploy(map[string]any{"repoUrl": repo.URL, "branch": "main"})
		deadline := time.Now().Add(2 * time.Minute)
		for len(sleepers()) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the build never started sleep 600")
			}
			time.Sleep(200 * time.Millisecond)
		}
		t0 := time.Now()
		if code := e.do("POST", "/api/deployments/"+started.ID+"/cancel", nil, nil); code != http.StatusAccepted {
			t.Fatalf("cancel = %d", code)
		}
		d := e.wait(started.ID, 60*time.Second)
		took := time.Since(t0)
		t.Logf("canceled in %s", took.Round(100*time.Millisecond))
		if d.State != "canceled" {
			t.Fatalf("state = %s (%s), want canceled", d.State, d.Error)
		}
		if took > 30*time.Second {
			t.Errorf("cancel took %s", took)
		}
		if left := sleepers(); len(left) > 0 {
			t.Errorf("sleep 600 still runs after the cancel: pids %v", left)
		}
	})
}

func TestBuildTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.BuildTimeout = 5 * time.Second })
	repo := e.git.NewRepo(t, "endless", map[string]string{
		"package.json": `{"name":"endless","private":true,"scripts":{"build":"sleep 600"}}`,
	})
	t0 := time.Now()
	id, state, msg := e.deployRepo(t, repo.URL, 90*time.Second)
	if took := time.Since(t0); took > 45*time.Second {
		t.Errorf("the timed-out build took %s to fail", took)
	}
	if state != "failed" || !strings.Contains(msg, "wall time limit of 5s") || !strings.Contains(msg, "SKYDEPLOY_BUILD_TIMEOUT") {
		t.Fatalf("deployment %s: %s: %q, want a failure naming the wall-time limit", id, state, msg)
	}
	text := logText(e.readLog(id, "", 30*time.Second))
	if n := strings.Count(text, "Running build: npm run build"); n != 1 {
		t.Errorf("the build ran %d times (a limit must not be retried):\n%s", n, text)
	}
	if left := sleepers(); len(left) > 0 {
		t.Errorf("sleep 600 still runs: pids %v", left)
	}
}

// sleepers lists processes of the build user (nobody) running `sleep 600`.
func sleepers() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		if err != nil || string(cmd) != "sleep\x00600\x00" {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", en.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == "65534" {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// npmMajor is the major version of the npm that builds use here.
func npmMajor(t *testing.T) int {
	out, err := exec.Command("npm", "--version").Output()
	if err != nil {
		t.Fatalf("npm --version: %v", err)
	}
	n, _ := strconv.Atoi(strings.SplitN(strings.TrimSpace(string(out)), ".", 2)[0])
	return n
}
