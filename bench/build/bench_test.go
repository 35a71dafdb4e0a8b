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

	"github.com/skydeploy/skydeploy/activities"
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

// setup is one way of building: a gateway whose deployments go to its own build task queue,
// served by a build worker configured for it.
type setup struct {
	name string
	api  string
}

func BenchmarkColdWarmBuild(b *testing.B) {
	pairs := 2
	if n, err := strconv.Atoi(os.Getenv("PAIRS")); err == nil && n > 0 {
		pairs = n
	}
	st := testenv.StartStack(b)
	base := st.Config
	base.APIToken = benchToken
	git := testenv.StartGitServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	log := testenv.Logger(b)
	var done []chan error
	var closers []func()
	b.Cleanup(func() {
		for _, c := range closers {
			c()
		}
		cancel()
		for _, d := range done {
			select {
			case <-d:
			case <-time.After(20 * time.Second):
			}
		}
	})
	start := func(name, queue string, light bool, adjust func(*activities.Activities)) setup {
		cfg := base
		cfg.BuildTaskQueue = queue
		d := make(chan error, 1)
		done = append(done, d)
		go func() { d <- platform.RunWorkerWith(ctx, cfg, log, light, true, adjust) }()
		gw, closeGW, err := platform.NewGateway(ctx, cfg, log, nil)
		if err != nil {
			b.Fatal(err)
		}
		api := httptest.NewServer(gw.Handler())
		closers = append(closers, api.Close, closeGW)
		return setup{name: name, api: api.URL}
	}
	// Builds through the egress proxy (the platform's only configuration), and the same builds
	// on the worker's own network: a throw-away configuration that only measures the proxy.
	proxied := start("proxy", "bench-build-proxy", true, nil)
	direct := start("direct", "bench-build-direct", false, func(a *activities.Activities) { a.Settings.Build.HostNetwork = true })

	files := testenv.ReadTree(b, filepath.Join("..", "..", "e2e", "testdata", "vite-app"))
	store := st.S3.Store()
	results := map[string][2][]run{}
	for i := 0; i < pairs; i++ {
		// Alternate the two setups, so that the machine's load weighs on both alike.
		for _, s := range []setup{proxied, direct} {
			// A new repository each time: its cache scope is new, so the first build is cold.
			repo := git.NewRepo(b, fmt.Sprintf("vite-bench-%s-%d", s.name, i), files)
			c := deployAndMeasure(b, s.api, store, repo.URL)
			w := deployAndMeasure(b, s.api, store, repo.URL)
			r := results[s.name]
			r[0], r[1] = append(r[0], c), append(r[1], w)
			results[s.name] = r
		}
	}
	coldProxy := report(b, "through the egress proxy", results["proxy"][0], results["proxy"][1])
	coldDirect := report(b, "on the worker's own network (no proxy)", results["direct"][0], results["direct"][1])
	overhead := coldProxy.Seconds()/coldDirect.Seconds() - 1
	fmt.Printf("\nproxy cost on a cold build step: %+.1f%% (goal <= +10%%)\n", 100*overhead)
	b.ReportMetric(100*overhead, "proxy-overhead-%")
}

// report prints one setup's table and returns its median cold build step.
func report(b *testing.B, title string, cold, warm []run) time.Duration {
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
	fmt.Fprintf(&out, "\nVite fixture %s, %d cold/warm pairs (medians)\n\n", title, len(cold))
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
	return coldBuild
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
