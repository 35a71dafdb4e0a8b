package testenv

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// GitServer serves bare repositories over HTTP with `git http-backend`, the way a git host does.
// It records every request it answers (see Requests), so tests can check what a client sent.
type GitServer struct {
	Root   string // directory holding <name>.git bare repositories
	Server *httptest.Server
	delay  atomic.Int64

	mu       sync.Mutex
	requests []GitRequest
	fetching int // pack downloads in progress
	maxFetch int // the most at once
}

// GitRequest is what the server saw of one request.
type GitRequest struct {
	Method, Path  string
	Authorization string // the Authorization header as sent, "" when absent
}

// Requests returns the requests answered so far, oldest first.
func (g *GitServer) Requests() []GitRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GitRequest(nil), g.requests...)
}

// MaxConcurrentFetches is the largest number of pack downloads (git-upload-pack requests) that
// were in progress at once.
func (g *GitServer) MaxConcurrentFetches() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxFetch
}

// SetFetchDelay makes every pack download wait d first, so a test can act while a clone runs.
func (g *GitServer) SetFetchDelay(d time.Duration) { g.delay.Store(int64(d)) }

// StartGitServer starts an HTTP git server for repositories under a temp dir.
func StartGitServer(t testing.TB) *GitServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed for the test git server: %v", err)
	}
	root := t.TempDir()
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	g := &GitServer{Root: root}
	backend := http.StripPrefix("/git", h)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pack := strings.HasSuffix(r.URL.Path, "/git-upload-pack")
		g.mu.Lock()
		g.requests = append(g.requests, GitRequest{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")})
		if pack {
			g.fetching++
			g.maxFetch = max(g.maxFetch, g.fetching)
		}
		g.mu.Unlock()
		if pack {
			defer func() { g.mu.Lock(); g.fetching--; g.mu.Unlock() }()
		}
		if d := time.Duration(g.delay.Load()); d > 0 && pack {
			time.Sleep(d)
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Server.Close)
	return g
}

// Repo is a working copy pushed to a bare repository on the server.
type Repo struct {
	t    testing.TB
	Work string
	Bare string
	URL  string
}

// NewRepo creates a repository with the given files (path -> content) committed on main and
// pushed to the server.
func (g *GitServer) NewRepo(t testing.TB, name string, files map[string]string) *Repo {
	t.Helper()
	bare := filepath.Join(g.Root, name+".git")
	run(t, "", "git", "init", "--bare", "--initial-branch=main", bare)
	run(t, bare, "git", "config", "http.receivepack", "true")
	run(t, bare, "git", "config", "uploadpack.allowReachableSHA1InWant", "true")
	work := t.TempDir()
	run(t, work, "git", "init", "--initial-branch=main")
	run(t, work, "git", "config", "user.email", "dev@example.com")
	run(t, work, "git", "config", "user.name", "Dev Eloper")
	r := &Repo{t: t, Work: work, Bare: bare, URL: g.Server.URL + "/git/" + name + ".git"}
	r.Commit("initial commit", files)
	return r
}

// Commit writes files (an empty content with key suffix "!delete" is not used; use Remove),
// commits them and pushes to the server, returning the new commit SHA.
func (r *Repo) Commit(message string, files map[string]string) string {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.Work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	run(r.t, r.Work, "git", "add", "-A")
	run(r.t, r.Work, "git", "commit", "-q", "--allow-empty", "-m", message)
	run(r.t, r.Work, "git", "push", "-q", r.Bare, "HEAD:refs/heads/"+r.Branch())
	return r.Head()
}

// Symlink adds a symlink to the working copy (committed with the next Commit).
func (r *Repo) Symlink(target, link string) {
	r.t.Helper()
	full := filepath.Join(r.Work, filepath.FromSlash(link))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		r.t.Fatal(err)
	}
}

// Checkout switches the working copy to branch (creating it) for later commits.
func (r *Repo) Checkout(branch string) {
	r.t.Helper()
	run(r.t, r.Work, "git", "checkout", "-q", "-B", branch)
}

// Branch is the working copy's current branch.
func (r *Repo) Branch() string {
	return strings.TrimSpace(output(r.t, r.Work, "git", "rev-parse", "--abbrev-ref", "HEAD"))
}

// Head is the working copy's HEAD commit.
func (r *Repo) Head() string {
	return strings.TrimSpace(output(r.t, r.Work, "git", "rev-parse", "HEAD"))
}

func run(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	output(t, dir, name, args...)
}

func output(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ReadTree reads every file under root into a path -> content map, the form NewRepo and Commit
// take, so a fixture directory can become a repository.
func ReadTree(t testing.TB, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("read fixture %s: %v", root, err)
	}
	return files
}

// NewLargeFileRepo creates a repository whose one commit on main holds files (top-level names
// -> content) and a file named big of size zero bytes, made with git plumbing from a sparse
// file so that neither the test nor git holds it in memory: git streams it into a pack of a
// few hundred KiB per 768 MiB. The repository has no working copy (Commit cannot be used).
func (g *GitServer) NewLargeFileRepo(t testing.TB, name, big string, size int64, files map[string]string) *Repo {
	t.Helper()
	bare := filepath.Join(g.Root, name+".git")
	run(t, "", "git", "init", "-q", "--bare", "--initial-branch=main", bare)
	run(t, bare, "git", "config", "uploadpack.allowReachableSHA1InWant", "true")
	tmp := t.TempDir()
	sparse := filepath.Join(tmp, "zeros")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer os.Remove(sparse)
	var tree strings.Builder
	blob := strings.TrimSpace(output(t, bare, "git", "hash-object", "-w", "--no-filters", sparse))
	fmt.Fprintf(&tree, "100644 blob %s\t%s\n", blob, big)
	for p, content := range files {
		src := filepath.Join(tmp, "file")
		if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		sha := strings.TrimSpace(output(t, bare, "git", "hash-object", "-w", "--no-filters", src))
		fmt.Fprintf(&tree, "100644 blob %s\t%s\n", sha, p)
	}
	cmd := exec.Command("git", "mktree")
	cmd.Dir, cmd.Stdin = bare, strings.NewReader(tree.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git mktree: %v", err)
	}
	cmd = exec.Command("git", "commit-tree", strings.TrimSpace(string(out)), "-m", "a large file")
	cmd.Dir = bare
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev Eloper", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev Eloper", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("git commit-tree: %v", err)
	}
	run(t, bare, "git", "update-ref", "refs/heads/main", strings.TrimSpace(string(out)))
	return &Repo{t: t, Bare: bare, URL: g.Server.URL + "/git/" + name + ".git"}
}
