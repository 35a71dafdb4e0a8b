package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// slowBuildRepo is a Node project without dependencies whose build takes a while.
func slowBuildRepo(seconds int, marker string) map[string]string {
	return map[string]string{
		"package.json":      fmt.Sprintf(`{"name":"slow","version":"1.0.0","private":true,"scripts":{"build":"sleep %d && mkdir -p dist && echo '<h1>%s</h1>' > dist/index.html && echo built > dist/built.txt"}}`, seconds, marker),
		"package-lock.json": `{"name":"slow","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"slow","version":"1.0.0"}}}`,
	}
}

func (e *env) manifestOf(id string) *manifest.Manifest {
	e.t.Helper()
	data, err := e.stack.S3.Store().GetBytes(context.Background(), storage.ManifestKey(id), 1<<20)
	if err != nil {
		e.t.Fatalf("manifest of %s: %v", id, err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func fileHashes(m *manifest.Manifest) string {
	var parts []string
	for _, f := range m.Files {
		parts = append(parts, f.Path+"="+f.SHA256)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// processesRunning counts processes whose command line contains s.
func processesRunning(s string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(data), "\x00", " "), s) {
			n++
		}
	}
	return n
}

// TestBuildWorkerKilledMidBuild kills the build worker with SIGKILL in the middle of a build: a
// new worker finishes the deployment after the heartbeat timeout, with the same result as an
// undisturbed run.
func TestBuildWorkerKilledMidBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("fault-injection test")
	}
	tallyFault(t, "build worker killed with SIGKILL mid-build")
	e := startEnvWith(t, envOptions{noBuildWorker: true})
	repo := e.git.NewRepo(t, "killed-worker", slowBuildRepo(12, "survived kill -9"))

	first := e.startWorkerProcess("--build-only")
	id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
	e.waitStep(id, "build", 2*time.Minute)
	time.Sleep(4 * time.Second) // the build is running on the first worker
	if err := syscall.Kill(-first.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	time.Sleep(2 * time.Second)
	if n := processesRunning("sleep 12"); n != 0 {
		t.Errorf("%d build processes outlived the killed worker", n)
	}
	e.startWorkerProcess("--build-only")
	d := e.wait(id, 4*time.Minute)
	if d.State != "succeeded" {
		t.Fatalf("after kill -9 of the build worker: %s: %s", d.State, d.Error)
	}
	t.Logf("recovered %s after the kill", time.Since(killedAt).Round(time.Second))

	// An undisturbed run of the same commit publishes the same files.
	ref := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, 3*time.Minute)
	if ref.State != "succeeded" {
		t.Fatalf("reference deployment: %s: %s", ref.State, ref.Error)
	}
	if a, b := fileHashes(e.manifestOf(id)), fileHashes(e.manifestOf(ref.ID)); a != b {
		t.Errorf("recovered deployment differs from an undisturbed one:\n%s\n%s", a, b)
	}
}

// TestConcurrentDeployments starts 20 deployments at once: all complete, and no more builds run
// at a time than the configured concurrency.
func TestConcurrentDeployments(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const limit = 2
	e := startEnv(t, func(c *config.Config) { c.BuildConcurrency = limit })
	repo := e.git.NewRepo(t, "concurrent", slowBuildRepo(1, "concurrent"))

	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		}()
	}
	wg.Wait()
	type span struct{ start, end time.Time }
	var spans []span
	for _, id := range ids {
		d := e.wait(id, 8*time.Minute)
		if d.State != "succeeded" {
			t.Fatalf("deployment %s: %s: %s", id, d.State, d.Error)
		}
		// The build step's own log lines say when the build really ran on a worker.
		var first, last time.Time
		for _, l := range e.archivedLines(id) {
			if l.Step != "build" {
				continue
			}
			if first.IsZero() {
				first = l.Time
			}
			last = l.Time
		}
		if first.IsZero() {
			t.Fatalf("deployment %s has no archived build log", id)
		}
		spans = append(spans, span{first, last})
	}
	maxAtOnce := 0
	for _, s := range spans {
		n := 0
		for _, o := range spans {
			if !o.start.After(s.start) && o.end.After(s.start) {
				n++
			}
		}
		maxAtOnce = max(maxAtOnce, n)
	}
	t.Logf("20 deployments: at most %d builds ran at once (limit %d)", maxAtOnce, limit)
	if maxAtOnce > limit {
		t.Errorf("%d builds ran at once, more than the limit of %d", maxAtOnce, limit)
	}
}

// archivedLines reads a deployment's archived log from object storage.
func (e *env) archivedLines(id string) []struct {
	Step string    `json:"step"`
	Time time.Time `json:"ts"`
	Line string    `json:"line"`
} {
	e.t.Helper()
	ctx := context.Background()
	store := e.stack.S3.Store()
	objs, err := store.List(ctx, storage.LogPrefix(id))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []struct {
		Step string    `json:"step"`
		Time time.Time `json:"ts"`
		Line string    `json:"line"`
	}
	for _, o := range objs {
		data, err := store.GetBytes(ctx, o.Key, 64<<20)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var l struct {
				Step string    `json:"step"`
				Time time.Time `json:"ts"`
				Line string    `json:"line"`
			}
			if jsonUnmarshal(line, &l) == nil {
				out = append(out, l)
			}
		}
	}
	return out
}
