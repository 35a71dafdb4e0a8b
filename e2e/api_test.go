package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/auth"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

// TestAPIRejectsBadInputAndFailsCleanly covers access control, input validation and the
// permanent failures a deployment can meet, on the real stack.
func TestAPIRejectsBadInputAndFailsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) {
		c.MaxFileBytes = 64 << 10
		c.MaxFiles = 300
		c.MaxRepoBytes = 4 << 20
	})
	count := func() int { return len(listedIDs(e)) }

	t.Run("access control", func(t *testing.T) {
		call := func(method, path, token string) int {
			req, _ := http.NewRequest(method, e.api.URL+path, strings.NewReader(`{"repoUrl":"https://github.com/o/r"}`))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		tokens := auth.NewStore(e.stack.S3.Store(), "")
		readTok, _, err := tokens.Create(context.Background(), "reader", auth.ScopeRead)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			method, path, token string
			want                int
		}{
			{"GET", "/healthz", "", 200},
			{"GET", "/api/config", "", 200},
			{"GET", "/api/deployments", "", 401},
			{"GET", "/api/deployments", "skd_notavalidtoken", 401},
			{"POST", "/api/deployments", "", 401},
			{"GET", "/api/deployments", readTok, 200},
			{"POST", "/api/deployments", readTok, 403},
			{"POST", "/api/deployments/0abcdefghjkm/cancel", readTok, 403},
		} {
			if got := call(tc.method, tc.path, tc.token); got != tc.want {
				t.Errorf("%s %s with token %q = %d, want %d", tc.method, tc.path, tc.token, got, tc.want)
			}
		}
	})

	t.Run("bad input gets a 4xx and starts nothing", func(t *testing.T) {
		before := count()
		for _, tc := range []struct {
			name string
			body map[string]any
			want int
		}{
			{"repo URL: not a URL", map[string]any{"repoUrl": "not a url"}, 422},
			{"repo URL: empty", map[string]any{"repoUrl": ""}, 422},
			{"repo URL: ftp://", map[string]any{"repoUrl": "ftp://example.com/repo.git"}, 422},
			{"repo URL: file://", map[string]any{"repoUrl": "file:///etc/passwd"}, 422},
			{"repo URL: ssh://", map[string]any{"repoUrl": "ssh://git@github.com/o/r.git"}, 422},
			{"repo URL: credentials", map[string]any{"repoUrl": "https://user:secret@github.com/o/r"}, 422},
			{"repo URL: host outside allow-list", map[string]any{"repoUrl": "https://evil.example.net/o/r"}, 422},
			{"branch: option-like", map[string]any{"repoUrl": "https://github.com/o/r", "branch": "--upload-pack=touch /tmp/pwned"}, 422},
			{"branch: dot-dot", map[string]any{"repoUrl": "https://github.com/o/r", "branch": "a..b"}, 422},
			{"rootDir: traversal", map[string]any{"repoUrl": "https://github.com/o/r", "rootDir": "../../etc"}, 422},
			{"outputDir: absolute", map[string]any{"repoUrl": "https://github.com/o/r", "outputDir": "/etc"}, 422},
			{"commit: not hex", map[string]any{"repoUrl": "https://github.com/o/r", "commit": "xyz"}, 422},
			{"body: unknown field", map[string]any{"repoUrl": "https://github.com/o/r", "unknownField": true}, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tallyHostile(t, tc.name)
				var out struct{ Error string }
				if code := e.do("POST", "/api/deployments", tc.body, &out); code != tc.want || out.Error == "" {
					t.Errorf("POST %v = %d %q, want %d with an error message", tc.body, code, out.Error, tc.want)
				}
			})
		}
		t.Run("body: 2 MiB", func(t *testing.T) {
			tallyHostile(t, "body: 2 MiB")
			big := bytes.Repeat([]byte("a"), 2<<20)
			req, _ := http.NewRequest("POST", e.api.URL+"/api/deployments", bytes.NewReader(append([]byte(`{"repoUrl":"`), big...)))
			req.Header.Set("Authorization", "Bearer "+e.cfg.APIToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("2 MiB body = %d, want 413", res.StatusCode)
			}
		})
		// Visibility is eventually consistent, so "nothing was started" is shown positively: a
		// valid deployment started after the bad requests becomes visible, and it is the only
		// new one. A workflow started by a bad request would have been listed before it.
		marker := e.deploy(map[string]any{"repoUrl": e.git.NewRepo(t, "after-bad-input", map[string]string{"index.html": "ok"}).URL})
		deadline := time.Now().Add(30 * time.Second)
		var ids []string
		for {
			ids = listedIDs(e)
			if slices.Contains(ids, marker.ID) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !slices.Contains(ids, marker.ID) {
			t.Fatalf("the marker deployment %s never became visible", marker.ID)
		}
		if len(ids) != before+1 {
			t.Errorf("bad requests started %d workflows (listed now: %v)", len(ids)-before-1, ids)
		}
		e.wait(marker.ID, time.Minute)
	})

	t.Run("internal addresses are refused unless allowed", func(t *testing.T) {
		cfg := e.cfg
		cfg.AllowPrivateGitHosts = false
		cfg.AllowInsecureGit = false
		cfg.AllowedGitHosts = []string{"*"}
		gw, closeGW, err := platform.NewGateway(context.Background(), cfg, testenv.Logger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeGW()
		srv := httptest.NewServer(gw.Handler())
		defer srv.Close()
		for _, u := range []string{"https://127.0.0.1/r.git", "https://169.254.169.254/latest/meta-data", "https://10.0.0.5/r", "https://[::1]/r", "https://localhost/r", "http://example.com/r"} {
			t.Run(u, func(t *testing.T) {
				tallyHostile(t, "repo URL: internal address "+u)
				data, _ := json.Marshal(map[string]string{"repoUrl": u})
				req, _ := http.NewRequest("POST", srv.URL+"/api/deployments", bytes.NewReader(data))
				req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("%s = %d, want 422", u, res.StatusCode)
				}
			})
		}
	})

	t.Run("starting deployments is rate limited per client", func(t *testing.T) {
		cfg := e.cfg
		cfg.DeployRatePerMinute = 3
		gw, closeGW, err := platform.NewGateway(context.Background(), cfg, testenv.Logger(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer closeGW()
		srv := httptest.NewServer(gw.Handler())
		defer srv.Close()
		codes := map[int]int{}
		for i := 0; i < 5; i++ {
			req, _ := http.NewRequest("POST", srv.URL+"/api/deployments", strings.NewReader(`{"repoUrl":"ftp://x"}`))
			req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			codes[res.StatusCode]++
		}
		if codes[http.StatusTooManyRequests] == 0 || codes[http.StatusUnprocessableEntity] == 0 {
			t.Errorf("5 quick deploy requests with a limit of 3/min gave %v, want some 422 then 429", codes)
		}
	})

	t.Run("missing repository fails at once", func(t *testing.T) {
		started := e.deploy(map[string]any{"repoUrl": e.git.Server.URL + "/git/does-not-exist.git"})
		begin := time.Now()
		d := e.wait(started.ID, time.Minute)
		if d.State != "failed" || !strings.Contains(d.Error, "not found") || d.Step != "clone" {
			t.Fatalf("deployment = %s at %s: %q", d.State, d.Step, d.Error)
		}
		if time.Since(begin) > 20*time.Second {
			t.Errorf("a permanent failure took %s: was it retried?", time.Since(begin))
		}
	})

	t.Run("missing branch fails with its name", func(t *testing.T) {
		repo := e.git.NewRepo(t, "has-main", map[string]string{"index.html": "x"})
		d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL, "branch": "nope"}).ID, time.Minute)
		if d.State != "failed" || !strings.Contains(d.Error, "nope") {
			t.Fatalf("deployment = %s: %q", d.State, d.Error)
		}
	})

	t.Run("unsupported project says what was looked for", func(t *testing.T) {
		repo := e.git.NewRepo(t, "not-a-site", map[string]string{"main.go": "package main", "README.md": "hi"})
		d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, time.Minute)
		if d.State != "failed" || d.Step != "detect" || !strings.Contains(d.Error, "index.html") {
			t.Fatalf("deployment = %s at %s: %q", d.State, d.Step, d.Error)
		}
	})

	t.Run("hostile repositories", func(t *testing.T) {
		t.Run("symlinks", func(t *testing.T) {
			tallyHostile(t, "source symlink to /etc/passwd", "source symlink out of the tree with ..")
			// A symlink out of the tree is not followed: the site deploys without it, with a warning.
			repo := e.git.NewRepo(t, "symlinks", map[string]string{"index.html": "<h1>ok</h1>", "real.txt": "real"})
			repo.Symlink("/etc/passwd", "passwd")
			repo.Symlink("../../../../etc/hostname", "hostname")
			repo.Symlink("real.txt", "alias.txt")
			repo.Commit("links", nil)
			started := e.deploy(map[string]any{"repoUrl": repo.URL})
			d := e.wait(started.ID, time.Minute)
			if d.State != "succeeded" {
				t.Fatalf("symlink repo: %s: %s", d.State, d.Error)
			}
			data, err := e.stack.S3.Store().GetBytes(context.Background(), storage.ManifestKey(started.ID), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), `"passwd"`) || strings.Contains(string(data), `"hostname"`) || !strings.Contains(string(data), `"alias.txt"`) {
				t.Errorf("manifest: outside links must be dropped and inside links kept: %s", data)
			}
			log := logText(e.readLog(started.ID, "", 20*time.Second))
			if !strings.Contains(log, "skipped symlink passwd") {
				t.Errorf("log does not report the skipped symlink:\n%s", log)
			}
		})

		for _, tc := range []struct {
			name  string
			files map[string]string
			// reason must appear in the failure: the limit that stopped it.
			reason string
		}{
			{"big-file", map[string]string{"index.html": "x", "big.bin": strings.Repeat("x", 100<<10)}, "limit"},
			{"many-files", manyFiles(400), "limit"},
			{"huge-repo", hugeRepo(120, 60<<10), "larger than the limit"}, // 7 MiB of incompressible files, each under the file limit: stopped by the fetch byte limit while cloning
		} {
			t.Run(tc.name, func(t *testing.T) {
				tallyHostile(t, "repository: "+tc.name)
				repo := e.git.NewRepo(t, tc.name, tc.files)
				d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, time.Minute)
				if d.State != "failed" || !strings.Contains(d.Error, tc.reason) {
					t.Errorf("%s: deployment = %s: %q, want a failure saying %q", tc.name, d.State, d.Error, tc.reason)
				}
			})
		}
	})

	t.Run("log stream resumes from Last-Event-ID", func(t *testing.T) {
		repo := e.git.NewRepo(t, "resume", map[string]string{"index.html": "<p>resume</p>"})
		id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		e.wait(id, time.Minute)
		all := e.readLog(id, "", 20*time.Second)
		var logs []sseEvent
		for _, ev := range all {
			if ev.Event == "log" {
				logs = append(logs, ev)
			}
		}
		if len(logs) < 4 {
			t.Fatalf("only %d log events", len(logs))
		}
		rest := e.readLog(id, logs[2].ID, 20*time.Second)
		if rest[0].Event != "log" || rest[0].ID != logs[3].ID {
			t.Errorf("resumed stream starts at %+v, want the event after %s", rest[0], logs[2].ID)
		}
	})

	t.Run("cancel an ended deployment is a conflict", func(t *testing.T) {
		repo := e.git.NewRepo(t, "ended", map[string]string{"index.html": "x"})
		id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		e.wait(id, time.Minute)
		if code := e.do("POST", "/api/deployments/"+id+"/cancel", nil, nil); code != http.StatusConflict {
			t.Errorf("cancel of an ended deployment = %d, want 409", code)
		}
		if code := e.do("GET", "/api/deployments/9zzzzzzzzzzz", nil, nil); code != http.StatusNotFound {
			t.Errorf("unknown deployment = %d, want 404", code)
		}
	})
}

// listedIDs returns the ids of the deployments the API lists (up to 100, newest first).
func listedIDs(e *env) []string {
	var list struct {
		Deployments []struct{ ID string } `json:"deployments"`
	}
	e.do("GET", "/api/deployments?pageSize=100", nil, &list)
	ids := make([]string, 0, len(list.Deployments))
	for _, d := range list.Deployments {
		ids = append(ids, d.ID)
	}
	return ids
}

func manyFiles(n int) map[string]string {
	files := map[string]string{"index.html": "x"}
	for i := 0; i < n; i++ {
		files["f/"+strings.Repeat("x", i%7)+time.Duration(i).String()+".txt"] = "x"
	}
	return files
}

// hugeRepo is n files of size incompressible bytes, so the fetch really is as large as it looks.
func hugeRepo(n, size int) map[string]string {
	files := map[string]string{"index.html": "x"}
	x := uint64(88172645463325252)
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		for j := range b {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			b[j] = byte(x)
		}
		files[fmt.Sprintf("blob-%03d.bin", i)] = string(b)
	}
	return files
}
