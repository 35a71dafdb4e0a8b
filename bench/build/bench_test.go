package build

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

const benchToken = "skydeploy-bench-token-0123456789"

// phases of the build step, in the order of the timing line.
var phases = []string{"download", "restore", "install", "build", "save", "output", "upload"}

// run is one measured deployment.
type run struct {
	id     string
	total  time.Duration            // whole deployment, created to finished
	steps  map[string]time.Duration // workflow steps (clone, detect, upload, build, publish)
	timing map[string]time.Duration // phases of the build step, and "total"
}

func BenchmarkColdWarmBuild(b *testing.B) {
	pairs := 3
	if n, err := strconv.Atoi(os.Getenv("PAIRS")); err == nil && n > 0 {
		pairs = n
	}
	st := testenv.StartStack(b)
	cfg := st.Config
	cfg.APIToken = benchToken
	git := testenv.StartGitServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	log := testenv.Logger(b)
	done := make(chan error, 1)
	go func() { done <- platform.RunWorker(ctx, cfg, log, true, true) }()
	gw, closeGW, err := platform.NewGateway(ctx, cfg, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	api := httptest.NewServer(gw.Handler())
	b.Cleanup(func() {
		api.Close()
		cancel()
		closeGW()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
		}
	})
	files := testenv.ReadTree(b, filepath.Join("..", "..", "e2e", "testdata", "vite-app"))
	store := st.S3.Store()

	var cold, warm []run
	for i := 0; i < pairs; i++ {
		// A new repository each time: its cache scope is new, so the first build is cold.
		repo := git.NewRepo(b, fmt.Sprintf("vite-bench-%d", i), files)
		c := deployAndMeasure(b, api.URL, store, repo.URL)
		w := deployAndMeasure(b, api.URL, store, repo.URL)
		cold, warm = append(cold, c), append(warm, w)
	}

	report(b, cold, warm)
}

func report(b *testing.B, cold, warm []run) {
	med := func(rs []run, f func(run) time.Duration) time.Duration {
		v := make([]time.Duration, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	step := func(name string) func(run) time.Duration { return func(r run) time.Duration { return r.steps[name] } }
	phase := func(name string) func(run) time.Duration { return func(r run) time.Duration { return r.timing[name] } }
	coldBuild, warmBuild := med(cold, phase("total")), med(warm, phase("total"))
	coldAll, warmAll := med(cold, func(r run) time.Duration { return r.total }), med(warm, func(r run) time.Duration { return r.total })

	var out strings.Builder
	fmt.Fprintf(&out, "\nVite fixture, %d cold/warm pairs (medians)\n\n", len(cold))
	fmt.Fprintf(&out, "%-22s %10s %10s\n", "", "cold", "warm")
	row := func(name string, c, w, of1, of2 time.Duration) {
		fmt.Fprintf(&out, "%-22s %9.2fs %9.2fs   (%4.1f%% / %4.1f%% of the build step)\n", name, c.Seconds(), w.Seconds(), pct(c, of1), pct(w, of2))
	}
	for _, p := range phases {
		row("  build: "+p, med(cold, phase(p)), med(warm, phase(p)), coldBuild, warmBuild)
	}
	fmt.Fprintf(&out, "%-22s %9.2fs %9.2fs\n", "build step (activity)", coldBuild.Seconds(), warmBuild.Seconds())
	for _, s := range []string{"clone", "detect", "upload", "build", "publish"} {
		fmt.Fprintf(&out, "%-22s %9.2fs %9.2fs\n", "step "+s+" (workflow)", med(cold, step(s)).Seconds(), med(warm, step(s)).Seconds())
	}
	fmt.Fprintf(&out, "%-22s %9.2fs %9.2fs\n", "whole deployment", coldAll.Seconds(), warmAll.Seconds())
	ratio := warmBuild.Seconds() / coldBuild.Seconds()
	fmt.Fprintf(&out, "\nwarm/cold build step: %.2f (goal <= 0.40)\nwarm/cold deployment: %.2f\n", ratio, warmAll.Seconds()/coldAll.Seconds())
	fmt.Print(out.String())
	b.ReportMetric(coldBuild.Seconds(), "cold-build-s")
	b.ReportMetric(warmBuild.Seconds(), "warm-build-s")
	b.ReportMetric(ratio, "warm/cold")
}

func pct(d, of time.Duration) float64 {
	if of == 0 {
		return 0
	}
	return 100 * d.Seconds() / of.Seconds()
}

func deployAndMeasure(b *testing.B, api string, store *storage.Store, repoURL string) run {
	b.Helper()
	var started gateway.StartedDeployment
	if code := call(b, "POST", api+"/api/deployments", map[string]any{"repoUrl": repoURL, "branch": "main"}, &started); code != http.StatusAccepted {
		b.Fatalf("POST /api/deployments = %d", code)
	}
	var d gateway.Deployment
	deadline := time.Now().Add(5 * time.Minute)
	for {
		call(b, "GET", api+"/api/deployments/"+started.ID, nil, &d)
		if d.State == "succeeded" || d.State == "failed" || d.State == "canceled" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("deployment %s did not end", started.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d.State != "succeeded" {
		b.Fatalf("deployment %s: %s: %s", started.ID, d.State, d.Error)
	}
	r := run{id: started.ID, steps: map[string]time.Duration{}}
	if d.FinishedAt != nil {
		r.total = d.FinishedAt.Sub(d.CreatedAt)
	}
	for _, s := range d.Steps {
		if s.StartedAt != nil && s.FinishedAt != nil {
			r.steps[s.Name] = s.FinishedAt.Sub(*s.StartedAt)
		}
	}
	r.timing = buildTiming(b, store, started.ID)
	return r
}

var timingField = regexp.MustCompile(`(\w+)=([0-9.]+)s`)

// buildTiming parses the "timing:" line of the deployment's archived build log.
func buildTiming(b *testing.B, store *storage.Store, id string) map[string]time.Duration {
	ctx := context.Background()
	objs, err := store.List(ctx, storage.LogPrefix(id))
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range objs {
		if !strings.Contains(path.Base(o.Key), "-build-") {
			continue
		}
		data, err := store.GetBytes(ctx, o.Key, 64<<20)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l livestatus.Line
			if json.Unmarshal(sc.Bytes(), &l) != nil || !strings.HasPrefix(l.Text, "timing: ") {
				continue
			}
			out := map[string]time.Duration{}
			for _, m := range timingField.FindAllStringSubmatch(l.Text, -1) {
				f, _ := strconv.ParseFloat(m[2], 64)
				out[m[1]] = time.Duration(f * float64(time.Second))
			}
			return out
		}
	}
	b.Fatalf("no timing line in the build log of %s", id)
	return nil
}

func call(b *testing.B, method, url string, body, out any) int {
	b.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+benchToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}
