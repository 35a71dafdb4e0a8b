package localfolder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/uploads"
)

func write(t *testing.T, dir string, files map[string]string) {
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

func paths(f *Folder) string {
	var out []string
	for _, file := range f.Files {
		out = append(out, file.Path)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func shaOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestScanIgnores: .gitignore and .skydeployignore in every directory (negation, directory
// patterns, anchored patterns, nested files), the defaults, .git always; ignore files above
// the folder do not apply.
func TestScanIgnores(t *testing.T) {
	parent := t.TempDir()
	write(t, parent, map[string]string{".gitignore": "site/\n"}) // above the folder: not read
	dir := filepath.Join(parent, "site")
	write(t, dir, map[string]string{
		"index.html":                   "<h1>hi</h1>",
		".gitignore":                   "*.log\n/build/\n!keep.log\n# a comment\n\ncache/\n",
		".skydeployignore":             "drafts\n",
		"app.log":                      "x",
		"keep.log":                     "kept by a negation",
		"build/out.js":                 "x",
		"src/build/kept.js":            "anchored /build/ is the top one only",
		"src/.gitignore":               "local.txt\n",
		"src/local.txt":                "x",
		"local.txt":                    "only src/ ignores local.txt",
		"deep/cache/x":                 "x",
		"drafts/post.md":               "x",
		"node_modules/dep/index.js":    "x",
		"app/node_modules/dep/i.js":    "x",
		".git/config":                  "x",
		".DS_Store":                    "x",
		"assets/.well-known/thing.txt": "dot directories are uploaded",
	})
	f, err := Scan(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := ".gitignore assets/.well-known/thing.txt index.html keep.log local.txt src/.gitignore src/build/kept.js"
	if got := paths(f); got != want {
		t.Errorf("files:\n got %s\nwant %s", got, want)
	}
	for _, file := range f.Files {
		data, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.Path)))
		if file.SHA256 != shaOf(string(data)) || file.Size != int64(len(data)) || file.Mode != api.ModeFile || file.Source != file.Path {
			t.Errorf("%+v does not describe its content", file)
		}
	}
	// A negation in .skydeployignore brings a default back.
	write(t, dir, map[string]string{".skydeployignore": "drafts\n!node_modules/\n"})
	f, err = Scan(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(f); !strings.Contains(got, "node_modules/dep/index.js") || !strings.Contains(got, "app/node_modules/dep/i.js") {
		t.Errorf("!node_modules did not re-include node_modules: %s", got)
	}
}

// TestScanSymlinks: a link to a file inside is uploaded with its target's content; a link out
// of the folder (absolute, relative, or through a linked directory) is an error naming it;
// dangling links and links to directories are left out with a warning.
func TestScanSymlinks(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"index.html": "<h1>home</h1>", "sub/page.html": "<h1>page</h1>"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("index.html", filepath.Join(dir, "home.html")))
	must(os.Symlink("../index.html", filepath.Join(dir, "sub", "up.html")))
	must(os.Symlink("sub", filepath.Join(dir, "linked-dir")))
	must(os.Symlink("missing.html", filepath.Join(dir, "dangling.html")))
	exe := filepath.Join(dir, "run.sh")
	must(os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	var warnings []string
	f, err := Scan(dir, Options{Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(f); got != "home.html index.html run.sh sub/page.html sub/up.html" {
		t.Errorf("files: %s", got)
	}
	for _, file := range f.Files {
		switch file.Path {
		case "home.html", "sub/up.html":
			if file.SHA256 != shaOf("<h1>home</h1>") || file.Source != "index.html" {
				t.Errorf("%s: %+v, want index.html's content", file.Path, file)
			}
		case "run.sh":
			if file.Mode != api.ModeExecutable {
				t.Errorf("run.sh mode %o", file.Mode)
			}
		}
	}
	if w := strings.Join(warnings, "\n"); !strings.Contains(w, "linked-dir: a symbolic link to sub, which is not a file") || !strings.Contains(w, "dangling.html: a symbolic link to missing.html, which does not exist") {
		t.Errorf("warnings:\n%s", w)
	}

	outside := filepath.Join(t.TempDir(), "secret.txt")
	must(os.WriteFile(outside, []byte("secret"), 0o644))
	for name, target := range map[string]string{
		"passwd.txt":  "/etc/passwd",
		"secret.txt":  outside,
		"up.txt":      "../" + filepath.Base(filepath.Dir(outside)) + "/secret.txt",
		"missing.txt": "/nonexistent/file",
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			write(t, d, map[string]string{"index.html": "x"})
			must(os.Symlink(target, filepath.Join(d, name)))
			_, err := Scan(d, Options{})
			var le *LinkError
			if !errors.As(err, &le) || le.Path != name || !strings.Contains(err.Error(), name+" is a symbolic link to "+target+", outside the folder") {
				t.Fatalf("Scan = %v, want a LinkError naming %s", err, name)
			}
			// Left out by an ignore file, the link is never looked at.
			write(t, d, map[string]string{".skydeployignore": name + "\n"})
			if _, err := Scan(d, Options{}); err != nil {
				t.Errorf("an ignored link still fails: %v", err)
			}
		})
	}
	// A linked folder whose files lead out: linked-dir/x → a directory outside.
	d := t.TempDir()
	write(t, d, map[string]string{"index.html": "x"})
	must(os.Symlink(filepath.Dir(outside), filepath.Join(d, "elsewhere")))
	if _, err := Scan(d, Options{}); err == nil || !strings.Contains(err.Error(), "elsewhere is a symbolic link to") {
		t.Errorf("a link to a directory outside: %v", err)
	}
}

func TestScanLimits(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"a.html": strings.Repeat("a", 100), "b.html": "b", "c/d.html": "d"})
	for _, tc := range []struct {
		lim  uploads.Limits
		want string
	}{
		{uploads.Limits{MaxFiles: 2}, "the folder has 3 files, more than the limit of 2 (SKYDEPLOY_MAX_FILES)"},
		{uploads.Limits{MaxFileBytes: 99}, "a.html is 100 B, larger than the limit of 99 B for one file (SKYDEPLOY_MAX_FILE_BYTES)"},
		{uploads.Limits{MaxBytes: 101}, "add up to 102 B, more than the limit of 101 B (SKYDEPLOY_MAX_REPO_BYTES)"},
	} {
		var le *uploads.LimitError
		if _, err := Scan(dir, Options{Limits: tc.lim}); !errors.As(err, &le) || err.Error() != tc.want && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("limits %+v: %v, want %q", tc.lim, err, tc.want)
		}
	}
	if f, err := Scan(dir, Options{Limits: uploads.Limits{MaxFiles: 3, MaxFileBytes: 100, MaxBytes: 102}}); err != nil || f.Bytes != 102 || len(f.Manifest()) != 3 {
		t.Errorf("at the limits: %+v, %v", f, err)
	}
	empty := t.TempDir()
	write(t, empty, map[string]string{".skydeployignore": "*\n"})
	if _, err := Scan(empty, Options{}); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Errorf("an empty folder: %v", err)
	}
	if _, err := Scan(filepath.Join(dir, "a.html"), Options{}); err == nil || !strings.Contains(err.Error(), "is not a folder") {
		t.Errorf("a file as the folder: %v", err)
	}
}

func TestGitInfo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if g := GitInfo(ctx, dir); g != nil {
		t.Fatalf("a folder outside any checkout: %+v", g)
	}
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Ada", "-c", "user.email=ada@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "feature/x")
	if g := GitInfo(ctx, dir); g != nil {
		t.Fatalf("a checkout without a commit: %+v", g)
	}
	write(t, dir, map[string]string{"index.html": "x", "dist/index.html": "built"})
	git("add", "index.html")
	git("commit", "-q", "-m", "First page\n\nWith a body.")
	head := git("rev-parse", "HEAD")
	g := GitInfo(ctx, filepath.Join(dir, "dist"))
	if g == nil || g.Commit != head || g.Branch != "feature/x" || g.Author != "Ada" || g.Email != "ada@example.com" ||
		g.Message != "First page\n\nWith a body." || !g.Dirty {
		t.Fatalf("GitInfo = %+v (dist/ is untracked: dirty)", g)
	}
	write(t, dir, map[string]string{".gitignore": "dist/\n"})
	git("add", ".gitignore")
	git("commit", "-q", "-m", "ignore dist")
	if g := GitInfo(ctx, dir); g == nil || g.Dirty {
		t.Errorf("a clean checkout: %+v", g)
	}
	git("checkout", "-q", "--detach")
	t.Setenv("GITHUB_REF_TYPE", "branch")
	t.Setenv("GITHUB_REF_NAME", "main")
	t.Setenv("GITHUB_HEAD_REF", "")
	if g := GitInfo(ctx, dir); g == nil || g.Branch != "main" {
		t.Errorf("detached HEAD in GitHub Actions: %+v", g)
	}
	t.Setenv("GITHUB_HEAD_REF", "fix/typo")
	if g := GitInfo(ctx, dir); g == nil || g.Branch != "fix/typo" {
		t.Errorf("a pull request in GitHub Actions: %+v", g)
	}
}
