package activities

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/workflows"
)

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an application error", err)
	}
	return ae
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildInstallCommandOnCacheHit(t *testing.T) {
	npm := detect.Plan{PackageManager: detect.NPM, InstallCommand: "npm ci"}
	if got := installCommand(npm, false); got != "npm ci" {
		t.Errorf("miss: %q", got)
	}
	if got := installCommand(npm, true); got != "" {
		t.Errorf("hit: %q", got)
	}
	custom := detect.Plan{PackageManager: detect.NPM, InstallCommand: "npm ci --legacy-peer-deps"}
	if got := installCommand(custom, true); got != custom.InstallCommand {
		t.Errorf("a project's own command must stay: %q", got)
	}
	pnpm := detect.Plan{PackageManager: detect.PNPM, InstallCommand: "pnpm install --frozen-lockfile"}
	if got := installCommand(pnpm, true); got != pnpm.InstallCommand {
		t.Errorf("pnpm: %q", got)
	}
}

func TestBuildCacheScopes(t *testing.T) {
	prod := scopesFor("shop", "main", "https://github.com/a/b", true)
	if !reflect.DeepEqual(prod, cacheScopes{read: []string{"shop/production"}, write: "shop/production"}) {
		t.Errorf("production scopes = %+v", prod)
	}
	prev := scopesFor("shop", "feature/x", "https://github.com/a/b", false)
	if prev.write == "shop/production" || !strings.HasPrefix(prev.write, "shop/preview-") {
		t.Errorf("a preview writes %q: it must never write production's cache", prev.write)
	}
	if len(prev.read) != 2 || prev.read[0] != prev.write || prev.read[1] != "shop/production" {
		t.Errorf("a preview reads %v, want its own scope then production's", prev.read)
	}
	if other := scopesFor("shop", "feature/y", "", false); other.write == prev.write {
		t.Errorf("two branches share the preview scope %q", other.write)
	}
	if got := scopesFor("", "", "", false); got.write != "" || len(got.read) != 0 {
		t.Errorf("no project, no repo = %+v", got)
	}
	a := scopesFor("", "main", "https://github.com/a/b", false).write
	if a != scopesFor("", "dev", "https://GITHUB.com/a/b.git", true).write {
		t.Errorf("the same repository spelled differently gets another scope")
	}
	if a == scopesFor("", "main", "https://github.com/a/c", false).write {
		t.Errorf("two repositories share a scope")
	}
	if !strings.HasPrefix(a, "_repo-") || ids.ValidateProject(a) == nil {
		t.Errorf("repository scope %q could be a project name: a project could poison it", a)
	}
}

func TestBuildCacheDirs(t *testing.T) {
	cases := []struct {
		plan            detect.Plan
		deps, downloads []string
	}{
		{detect.Plan{PackageManager: detect.NPM}, []string{"node_modules"}, []string{".skydeploy/home/.npm"}},
		{detect.Plan{PackageManager: detect.NPM, RootDir: "apps/web", WorkspaceRoot: "."}, []string{"apps/web/node_modules", "node_modules"}, []string{".skydeploy/home/.npm"}},
		{detect.Plan{PackageManager: detect.PNPM, Corepack: true, RootDir: "site"}, []string{"site/node_modules"}, []string{".skydeploy/home/.local/share/pnpm/store", ".skydeploy/home/.cache/node/corepack"}},
		{detect.Plan{PackageManager: detect.Yarn}, []string{"node_modules"}, []string{".skydeploy/home/.yarn-cache"}},
		{detect.Plan{PackageManager: detect.YarnBerry}, []string{"node_modules", ".yarn/cache"}, []string{".skydeploy/home/.yarn/berry/cache", ".skydeploy/home/.yarn-cache"}},
	}
	for _, c := range cases {
		deps, downloads := cacheDirs(c.plan)
		if !reflect.DeepEqual(deps, c.deps) || !reflect.DeepEqual(downloads, c.downloads) {
			t.Errorf("cacheDirs(%+v) = %v, %v; want %v, %v", c.plan, deps, downloads, c.deps, c.downloads)
		}
	}
}

func TestSecretMasker(t *testing.T) {
	m := newSecretMasker([]string{"hunter2-secret", "line-one-value\nline-two-value", "abc", "hunter2-secret-longer"})
	for in, want := range map[string]string{
		"token=hunter2-secret;":          "token=***;",
		"x hunter2-secret-longer y":      "x *** y",
		"first: line-one-value":          "first: ***",
		"   line-two-value   ":           "   ***   ",
		"short abc stays":                "short abc stays",
		"line-one-value\nline-two-value": "***",
	} {
		if got := m.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := newSecretMasker(nil).mask("plain"); got != "plain" {
		t.Errorf("no secrets: %q", got)
	}
}

func TestCheckBuildInputRefusesForgedInput(t *testing.T) {
	id := "0abcdefghjkm"
	ok := workflows.BuildInput{DeploymentID: id, SourceKey: "sources/" + id + ".tar.gz"}
	if err := checkBuildInput(ok); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	for name, in := range map[string]workflows.BuildInput{
		"id with a slash":   {DeploymentID: "../../etc", SourceKey: "sources/../../etc.tar.gz"},
		"id with dots":      {DeploymentID: "0abc..efghjk", SourceKey: "sources/0abc..efghjk.tar.gz"},
		"another's source":  {DeploymentID: id, SourceKey: "sources/1bbbbbbbbbbb.tar.gz"},
		"an object outside": {DeploymentID: id, SourceKey: "projects/shop.json"},
		"output dir leaves": {DeploymentID: id, SourceKey: ok.SourceKey, Plan: detect.Plan{OutputDir: "../../x"}},
	} {
		ae := appErr(t, checkBuildInput(in))
		if ae.Type() != workflows.ErrInvalidInput || !ae.NonRetryable() {
			t.Errorf("%s: %s %v", name, ae.Type(), ae.NonRetryable())
		}
	}
}

func TestBuildNodeMajor(t *testing.T) {
	for in, want := range map[string]int{"v20.11.1": 20, "22.1.0": 22, "": 0, "junk": 0} {
		if got := nodeMajor(in); got != want {
			t.Errorf("nodeMajor(%q) = %d", in, got)
		}
	}
}

func TestBuildShellScript(t *testing.T) {
	s, _ := shellScript(detect.Plan{PackageManager: detect.NPM}, "npm ci")
	if s != "npm ci" {
		t.Errorf("plain: %q", s)
	}
	s, _ = shellScript(detect.Plan{PackageManager: detect.PNPM, Corepack: true, RootDir: "apps/it's"}, "pnpm install")
	if !strings.Contains(s, `corepack enable --install-directory "$HOME/../bin"`) || !strings.HasSuffix(s, `cd 'apps/it'\''s' && pnpm install`) {
		t.Errorf("corepack + root dir: %q", s)
	}
}

func TestBuildResolveOutput(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "web/build/index.html"), "x")
	p := detect.Plan{RootDir: "web", OutputDir: "dist", OutputCandidates: []string{"dist", "build", "out"}}
	dir, display, err := resolveOutput(ws, p)
	if err != nil || display != "web/build" || !strings.HasSuffix(dir, filepath.FromSlash("web/build")) {
		t.Fatalf("resolveOutput = %q %q %v", dir, display, err)
	}

	_, _, err = resolveOutput(ws, detect.Plan{OutputDir: "dist"})
	ae := appErr(t, err)
	if ae.Type() != workflows.ErrBuildFailed || ae.Message() != "output directory dist was not produced by the build (looked for: dist)" {
		t.Errorf("missing output: %s: %s", ae.Type(), ae.Message())
	}

	if err := os.Symlink("/etc", filepath.Join(ws, "dist")); err != nil {
		t.Fatal(err)
	}
	_, _, err = resolveOutput(ws, detect.Plan{OutputDir: "dist"})
	ae = appErr(t, err)
	if ae.Type() != workflows.ErrUnsafeContent || !strings.Contains(ae.Message(), "dist is a symlink to /etc outside the workspace") {
		t.Errorf("output dir linked out: %s: %s", ae.Type(), ae.Message())
	}
}

func readTar(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

func TestBuildWriteOutputTar(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "<h1>hi</h1>")
	writeFile(t, filepath.Join(dir, "assets/app.js"), "console.log(1)")
	if err := os.Symlink("../index.html", filepath.Join(dir, "assets/alias.html")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	art := &artifact{}
	if err := writeOutputTar(context.Background(), &buf, dir, "dist", Settings{}, art); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, buf.Bytes())
	want := map[string]string{"index.html": "<h1>hi</h1>", "assets/app.js": "console.log(1)", "assets/alias.html": "<h1>hi</h1>"}
	if !reflect.DeepEqual(got, want) || art.files != 3 || art.bytes != int64(11+14+11) {
		t.Errorf("archive = %v (%d files, %d bytes)", got, art.files, art.bytes)
	}

	// Limits of the published site.
	err := writeOutputTar(context.Background(), io.Discard, dir, "dist", Settings{MaxFiles: 2}, &artifact{})
	if ae := appErr(t, err); ae.Type() != workflows.ErrLimitExceeded || !strings.Contains(ae.Message(), "more than 2 files") {
		t.Errorf("file count: %v", err)
	}
	err = writeOutputTar(context.Background(), io.Discard, dir, "dist", Settings{MaxSiteBytes: 20}, &artifact{})
	if ae := appErr(t, err); ae.Type() != workflows.ErrLimitExceeded {
		t.Errorf("site size: %v", err)
	}

	// A link out of the output is refused with a message naming it.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	err = writeOutputTar(context.Background(), io.Discard, dir, "dist", Settings{}, &artifact{})
	ae := appErr(t, err)
	if ae.Type() != workflows.ErrUnsafeContent || ae.Message() != "build output contains dist/passwd, a symlink to /etc/passwd outside the workspace; refusing to publish" || !ae.NonRetryable() {
		t.Errorf("unsafe link: %s: %s", ae.Type(), ae.Message())
	}
}

func TestBuildEvictLocal(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"a/1.tar.gz", "b/2.tar.gz", "c/3.tar.gz"} {
		p := filepath.Join(dir, name)
		writeFile(t, p, strings.Repeat("x", 100))
		ts := old.Add(time.Duration(i) * time.Minute)
		_ = os.Chtimes(p, ts, ts)
	}
	evictLocal(dir, 250, filepath.Join(dir, "a/1.tar.gz"))
	var left []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(left)
	if !reflect.DeepEqual(left, []string{"a/1.tar.gz", "c/3.tar.gz"}) {
		t.Errorf("left after eviction: %v", left)
	}
}

func TestBuildSandboxLimitsDefaults(t *testing.T) {
	a := &Activities{Settings: Settings{MaxFiles: 50_000, MaxFileBytes: 100 << 20, MaxSiteBytes: 1 << 30, MaxRepoBytes: 1 << 30,
		Build: BuildSettings{MemoryBytes: 4 << 30, CPUSeconds: 1800, MaxLogBytes: 16 << 20, CacheBytes: 1 << 30}}}
	l := a.sandboxLimits()
	if l.MaxFiles < 200_000 || l.MaxFileBytes < 1<<30 || l.MaxWorkspaceBytes < 4<<30 || l.MaxProcesses == 0 || l.MemoryBytes != 4<<30 || l.MaxOutputBytes != 16<<20 {
		t.Errorf("limits = %+v", l)
	}
}
