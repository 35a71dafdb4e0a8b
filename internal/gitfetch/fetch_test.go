package gitfetch_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/skydeploy/skydeploy/internal/gitfetch"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

// fetch clones o (AllowPrivate: the test servers are on loopback) into a fresh directory.
func fetch(t *testing.T, o gitfetch.Options) (*object.Commit, string, error) {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "git")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := gitfetch.Fetch(ctx, o)
	return c, o.Dir, err
}

func kindOf(err error) gitfetch.Kind {
	var ge *gitfetch.Error
	if errors.As(err, &ge) {
		return ge.Kind
	}
	return ""
}

// commitsIn counts the commits the clone's storage holds.
func commitsIn(t *testing.T, dir string) int {
	t.Helper()
	repo, err := git.Open(filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), nil)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := repo.CommitObjects()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	iter.ForEach(func(*object.Commit) error { n++; return nil })
	return n
}

func export(t *testing.T, c *object.Commit, lim gitfetch.Limits) (map[string]string, error) {
	t.Helper()
	dir := t.TempDir()
	_, err := gitfetch.Export(c, dir, lim)
	if err != nil {
		return nil, err
	}
	files := testenv.ReadTree(t, dir)
	return files, nil
}

func TestFetchRefs(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "refs", map[string]string{"index.html": "v1"})
	first := repo.Head()
	repo.Commit("second", map[string]string{"index.html": "v2"})
	third := repo.Commit("third", map[string]string{"index.html": "v3", "sub/dir/a.txt": "a"})
	repo.Checkout("feature")
	feature := repo.Commit("on feature", map[string]string{"index.html": "feature"})

	for _, tc := range []struct {
		name           string
		branch, commit string
		wantSHA, index string
	}{
		{"default branch", "", "", third, "v3"},
		{"named branch", "feature", "", feature, "feature"},
		{"exact commit", "", first, first, "v1"},
		{"exact commit on a branch", "feature", third, third, "v3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, dir, err := fetch(t, gitfetch.Options{URL: repo.URL, Branch: tc.branch, Commit: tc.commit, AllowPrivate: true})
			if err != nil {
				t.Fatal(err)
			}
			if c.Hash.String() != tc.wantSHA {
				t.Fatalf("fetched %s, want %s", c.Hash, tc.wantSHA)
			}
			files, err := export(t, c, gitfetch.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if files["index.html"] != tc.index {
				t.Errorf("index.html = %q, want %q", files["index.html"], tc.index)
			}
			// Shallow: the storage on disk holds the one commit asked for, not its history.
			if n := commitsIn(t, dir); n != 1 {
				t.Errorf("clone holds %d commits, want 1 (depth 1)", n)
			}
		})
	}
	t.Run("commit fields", func(t *testing.T) {
		c, _, err := fetch(t, gitfetch.Options{URL: repo.URL, AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(c.Message) != "third" || c.Author.Name != "Dev Eloper" || c.Author.Email != "dev@example.com" {
			t.Errorf("commit = %q by %s <%s>", c.Message, c.Author.Name, c.Author.Email)
		}
		files, _ := export(t, c, gitfetch.Limits{})
		if files["sub/dir/a.txt"] != "a" {
			t.Errorf("nested file missing: %v", files)
		}
	})
	t.Run("missing branch, commit and repository", func(t *testing.T) {
		for _, tc := range []struct {
			o    gitfetch.Options
			want gitfetch.Kind
		}{
			{gitfetch.Options{URL: repo.URL, Branch: "nope"}, gitfetch.KindBranchNotFound},
			{gitfetch.Options{URL: repo.URL, Commit: strings.Repeat("ab", 20)}, gitfetch.KindBranchNotFound},
			{gitfetch.Options{URL: srv.Server.URL + "/git/none.git"}, gitfetch.KindNotFound},
		} {
			tc.o.AllowPrivate = true
			_, _, err := fetch(t, tc.o)
			if kindOf(err) != tc.want {
				t.Errorf("%+v: err = %v (%s), want %s", tc.o, err, kindOf(err), tc.want)
			}
		}
	})
}

// A server that refuses to serve commits by id (git's default without
// uploadpack.allowReachableSHA1InWant) makes the clone fetch the branch's history and find
// the commit there.
func TestFetchExactCommitWithoutReachableSHA1(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "strict", map[string]string{"index.html": "v1"})
	first := repo.Head()
	repo.Commit("second", map[string]string{"index.html": "v2"})
	if out, err := exec.Command("git", "-C", repo.Bare, "config", "uploadpack.allowReachableSHA1InWant", "false").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c, dir, err := fetch(t, gitfetch.Options{URL: repo.URL, Commit: first, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	files, err := export(t, c, gitfetch.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash.String() != first || files["index.html"] != "v1" {
		t.Errorf("fetched %s with index.html %q, want %s with v1", c.Hash, files["index.html"], first)
	}
	if n := commitsIn(t, dir); n != 2 {
		t.Errorf("history fetch holds %d commits, want the branch's 2", n)
	}
	_, _, err = fetch(t, gitfetch.Options{URL: repo.URL, Commit: strings.Repeat("cd", 20), AllowPrivate: true})
	if kindOf(err) != gitfetch.KindBranchNotFound {
		t.Errorf("unknown commit: err = %v", err)
	}
}

func zeros(n int, tag string) string { return strings.Repeat("\x00", n) + tag }

func TestFetchLimits(t *testing.T) {
	srv := testenv.StartGitServer(t)
	many := map[string]string{}
	for i := 0; i < 20; i++ {
		many[fmt.Sprintf("f%02d.txt", i)] = fmt.Sprint(i)
	}
	// Six distinct files of 1 MiB of zeros: a pack of a few KiB, 6 MiB once decompressed.
	zeroFiles := map[string]string{}
	for i := 0; i < 6; i++ {
		zeroFiles[fmt.Sprintf("z%d.bin", i)] = zeros(1<<20, fmt.Sprint(i))
	}
	// Thousands of branches make the ref advertisement alone larger than 64 KiB.
	refs := srv.NewRepo(t, "many-refs", map[string]string{"index.html": "x"})
	var updates strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&updates, "create refs/heads/branch-with-a-long-name-%05d %s\n", i, refs.Head())
	}
	cmd := exec.Command("git", "-C", refs.Bare, "update-ref", "--stdin")
	cmd.Stdin = strings.NewReader(updates.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, tc := range []struct {
		name  string
		url   string
		lim   gitfetch.Limits
		want  string
		check func(t *testing.T, dir string)
	}{
		{"largest file", srv.NewRepo(t, "big-file", map[string]string{"index.html": "x", "big.bin": zeros(8<<20, "")}).URL,
			gitfetch.Limits{MaxFileBytes: 1 << 20}, "SKYDEPLOY_MAX_FILE_BYTES", nil},
		{"file count", srv.NewRepo(t, "many-files", many).URL, gitfetch.Limits{MaxFiles: 10}, "SKYDEPLOY_MAX_FILES", nil},
		{"decompressed bytes", srv.NewRepo(t, "zeros", zeroFiles).URL, gitfetch.Limits{MaxBytes: 4 << 20, MaxFileBytes: 2 << 20},
			"once decompressed (SKYDEPLOY_MAX_REPO_BYTES)", nil},
		{"bytes received", refs.URL, gitfetch.Limits{MaxBytes: 64 << 10}, "fetched (SKYDEPLOY_MAX_REPO_BYTES)", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, dir, err := fetch(t, gitfetch.Options{URL: tc.url, Limits: tc.lim, AllowPrivate: true})
			var ge *gitfetch.Error
			if !errors.As(err, &ge) || ge.Kind != gitfetch.KindTooLarge || !ge.Permanent() || !strings.Contains(ge.Msg, tc.want) {
				t.Fatalf("err = %v, want a permanent %s naming %q", err, gitfetch.KindTooLarge, tc.want)
			}
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
			if len(packs) != 0 {
				t.Errorf("a refused pack was stored: %v", packs)
			}
		})
	}
	t.Run("within the limits", func(t *testing.T) {
		c, _, err := fetch(t, gitfetch.Options{URL: srv.Server.URL + "/git/zeros.git", Limits: gitfetch.Limits{MaxBytes: 8 << 20, MaxFileBytes: 2 << 20, MaxFiles: 6}, AllowPrivate: true})
		if err != nil {
			t.Fatal(err)
		}
		files, err := export(t, c, gitfetch.Limits{MaxBytes: 8 << 20})
		if err != nil || len(files) != 6 || files["z3.bin"] != zeros(1<<20, "3") {
			t.Fatalf("export: %d files, %v", len(files), err)
		}
	})
	// One blob under many names is small in the pack but large on disk: Export counts what it
	// writes, so the budget holds there too.
	t.Run("export counts what it writes", func(t *testing.T) {
		same := map[string]string{}
		for i := 0; i < 5; i++ {
			same[fmt.Sprintf("copy%d.bin", i)] = zeros(1<<20, "")
		}
		repo := srv.NewRepo(t, "same-blob", same)
		lim := gitfetch.Limits{MaxBytes: 3 << 20}
		c, _, err := fetch(t, gitfetch.Options{URL: repo.URL, Limits: lim, AllowPrivate: true})
		if err != nil {
			t.Fatalf("the pack holds one 1 MiB blob and must pass: %v", err)
		}
		_, err = export(t, c, lim)
		var le *gitfetch.LimitError
		if !errors.As(err, &le) || !strings.Contains(le.Msg, "SKYDEPLOY_MAX_REPO_BYTES") {
			t.Fatalf("export err = %v, want the repository byte limit", err)
		}
	})
}

func TestFetchAddressGuard(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "guarded", map[string]string{"index.html": "x"})
	u, _ := url.Parse(repo.URL)
	viaName := "http://localhost:" + u.Port() + u.Path

	t.Run("a name resolving to loopback", func(t *testing.T) {
		_, _, err := fetch(t, gitfetch.Options{URL: viaName})
		if kindOf(err) != gitfetch.KindForbiddenHost {
			t.Fatalf("err = %v, want %s", err, gitfetch.KindForbiddenHost)
		}
		if _, _, err := fetch(t, gitfetch.Options{URL: viaName, AllowPrivate: true}); err != nil {
			t.Fatalf("with AllowPrivate: %v", err)
		}
	})

	t.Run("a redirect to an internal address", func(t *testing.T) {
		// front stands for a public host (the test's rule lets only its address through) and
		// redirects every request to the git server, an internal address.
		var frontHits int
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			frontHits++
			http.Redirect(w, r, repo.URL+strings.TrimPrefix(r.URL.Path, "/moved.git")+"?"+r.URL.RawQuery, http.StatusFound)
		}))
		defer front.Close()
		frontAddr := netip.MustParseAddrPort(strings.TrimPrefix(front.URL, "http://"))
		before := len(srv.Requests())
		o := gitfetch.WithInternalRule(gitfetch.Options{URL: front.URL + "/moved.git"}, func(ap netip.AddrPort) bool { return ap != frontAddr })
		_, _, err := fetch(t, o)
		if kindOf(err) != gitfetch.KindForbiddenHost {
			t.Fatalf("err = %v, want %s", err, gitfetch.KindForbiddenHost)
		}
		if frontHits == 0 {
			t.Fatal("the front server was never asked: the test did not exercise the redirect")
		}
		if got := len(srv.Requests()); got != before {
			t.Errorf("the internal server received %d requests", got-before)
		}
	})
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Credentials go to their own host only: a recording git host sees the GitHub token only when
// it is GitHub's (named by the API URL), a per-host credential only when configured for it,
// and nothing after a redirect from a host that has one.
func TestFetchSendsCredentialsOnlyToTheirHost(t *testing.T) {
	other := testenv.StartGitServer(t)
	gh := testenv.StartGitServer(t)
	repo := other.NewRepo(t, "creds", map[string]string{"index.html": "x"})
	ghRepo := gh.NewRepo(t, "creds", map[string]string{"index.html": "x"})
	otherHost := strings.TrimPrefix(other.Server.URL, "http://")
	const token = "ghp_platformsecret"

	auths := func(g *testenv.GitServer, from int) map[string]bool {
		seen := map[string]bool{}
		for _, r := range g.Requests()[from:] {
			seen[r.Authorization] = true
		}
		return seen
	}
	for _, tc := range []struct {
		name   string
		server *testenv.GitServer
		url    string
		creds  gitfetch.Credentials
		want   string
	}{
		{"GitHub token, other host", other, repo.URL, gitfetch.HostCredentials(token, "https://api.github.com/", nil), ""},
		{"GitHub token, GitHub's host (the API URL's)", gh, ghRepo.URL, gitfetch.HostCredentials(token, gh.Server.URL+"/api/v3", nil), basic("x-access-token", token)},
		{"per-host credential", other, repo.URL, gitfetch.HostCredentials(token, "", map[string]string{otherHost: "alice:pw"}), basic("alice", "pw")},
		{"per-host credential of another host", other, repo.URL, gitfetch.HostCredentials("", "", map[string]string{"git.example.com": "alice:pw"}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := len(tc.server.Requests())
			if _, _, err := fetch(t, gitfetch.Options{URL: tc.url, AllowPrivate: true, Credentials: tc.creds}); err != nil {
				t.Fatal(err)
			}
			seen := auths(tc.server, from)
			if len(seen) != 1 || !seen[tc.want] {
				t.Errorf("Authorization headers seen: %q, want only %q", keys(seen), tc.want)
			}
		})
	}
	t.Run("ls-remote too", func(t *testing.T) {
		from := len(other.Requests())
		if _, err := gitfetch.LsRemote(context.Background(), gitfetch.Options{URL: repo.URL, AllowPrivate: true, Credentials: gitfetch.HostCredentials(token, "", nil)}); err != nil {
			t.Fatal(err)
		}
		if seen := auths(other, from); len(seen) != 1 || !seen[""] {
			t.Errorf("ls-remote sent %q to another host", keys(seen))
		}
	})
	t.Run("a redirect does not carry the token", func(t *testing.T) {
		// The GitHub host redirects to the other host: its own request has the token, the
		// other host's requests have none.
		var frontAuth []string
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			frontAuth = append(frontAuth, r.Header.Get("Authorization"))
			http.Redirect(w, r, repo.URL+strings.TrimPrefix(r.URL.Path, "/moved.git")+"?"+r.URL.RawQuery, http.StatusFound)
		}))
		defer front.Close()
		from := len(other.Requests())
		creds := gitfetch.HostCredentials(token, front.URL, nil)
		if _, _, err := fetch(t, gitfetch.Options{URL: front.URL + "/moved.git", AllowPrivate: true, Credentials: creds}); err != nil {
			t.Fatal(err)
		}
		if len(frontAuth) == 0 || frontAuth[0] != basic("x-access-token", token) {
			t.Fatalf("the GitHub host saw %q: the test did not send the token there", frontAuth)
		}
		if seen := auths(other, from); len(seen) != 1 || !seen[""] {
			t.Errorf("the redirect target saw Authorization %q", keys(seen))
		}
	})
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
