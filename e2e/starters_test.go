package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startersEnv selects the starters: unset runs those marked inDefault (what `make test` and CI
// run), "all" runs every one (`make test-starters`), a comma-separated list runs those named.
const startersEnv = "SKYDEPLOY_TEST_STARTERS"

// starterDeployTimeout bounds one deployment; the build itself is held to the default 15m.
const starterDeployTimeout = 20 * time.Minute

// TestStarters deploys the default project of each major framework, made by its own generator
// from the npm registry at a pinned version (starters_recipes_test.go), through the API on the
// real stack with the default limits (4 GiB of memory for a build step's whole process tree):
// cold (a new repository, so empty caches) then warm (the same repository again). Each
// deployment must serve its root page and a content-hashed asset that page references. A
// starter that needs a server fails at detect with the message that says what to change. The
// test logs a table of times and peak memory, the one in README.
func TestStarters(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	selected := selectStarters(t, os.Getenv(startersEnv))
	e := startEnv(t, nil)
	if e.cfg.BuildMemoryBytes != 4<<30 {
		t.Fatalf("the build memory limit is %d bytes, want the default 4 GiB", e.cfg.BuildMemoryBytes)
	}
	started := time.Now()
	load0 := loadAverage()
	var rows []starterRow
	for _, s := range selected {
		t.Run(s.name, func(t *testing.T) {
			if s.needs != "" {
				if _, err := exec.LookPath(s.needs); err != nil {
					t.Fatalf("the %s starter needs %s on this machine (Debian: apt-get install %s; make test-starters installs it)", s.name, s.needs, s.needs)
				}
			}
			files := materialise(t, s)
			if s.detectError != "" {
				e.deployFailsAtDetect(t, s, files)
				return
			}
			rows = append(rows, e.deployStarter(t, s, files))
		})
	}
	if len(rows) == 0 {
		return
	}
	table := starterTable(rows, started, load0, loadAverage())
	t.Log("\n" + table)
	if dir := os.Getenv("SKYDEPLOY_TEST_ARTIFACTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "starters.md"), []byte(table), 0o644); err != nil {
			t.Errorf("write the starter table: %v", err)
		}
	}
}

// selectStarters reads SKYDEPLOY_TEST_STARTERS.
func selectStarters(t *testing.T, sel string) []starter {
	t.Helper()
	sel = strings.TrimSpace(sel)
	var out []starter
	switch sel {
	case "":
		for _, s := range starters {
			if s.inDefault {
				out = append(out, s)
			}
		}
	case "all":
		out = starters
	default:
		for _, name := range strings.Split(sel, ",") {
			s := findStarter(strings.TrimSpace(name))
			if s == nil {
				var names []string
				for _, s := range starters {
					names = append(names, s.name)
				}
				t.Fatalf("%s=%q: no starter %q (known: %s)", startersEnv, sel, name, strings.Join(names, ", "))
			}
			out = append(out, *s)
		}
	}
	return out
}

// deployFailsAtDetect checks that the starter's deployment fails at the detect step with the
// starter's message, before anything is installed or published.
func (e *env) deployFailsAtDetect(t *testing.T, s starter, files map[string]string) {
	t.Helper()
	repo := e.git.NewRepo(t, s.name, files)
	id, state, msg := e.deployRepo(t, repo.URL, 2*time.Minute)
	if state != "failed" || !strings.Contains(msg, s.detectError) {
		t.Fatalf("deployment %s: %s: %q\nwant it to fail with %q", id, state, msg, s.detectError)
	}
	var d deploymentView
	e.do("GET", "/api/deployments/"+id, nil, &d)
	for _, st := range d.Steps {
		if st.Name == "build" && st.State != "" && st.State != "pending" {
			t.Errorf("the build step ran (%s) for a project that detect refused", st.State)
		}
	}
	if d.Step != "detect" {
		t.Errorf("failed at step %q, want detect", d.Step)
	}
	if e.hasManifest(id) {
		t.Errorf("a manifest was written for %s", id)
	}
	t.Logf("%s fails at detect: %s", s.name, msg)
}

// deploymentView is the part of GET /api/deployments/:id this file reads.
type deploymentView struct {
	State string `json:"status"`
	Step  string `json:"step"`
	Steps []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"steps"`
	Plan *struct {
		Framework      string `json:"framework"`
		InstallCommand string `json:"installCommand"`
	} `json:"plan"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	Error      string     `json:"error"`
}

// deployRun is one measured deployment.
type deployRun struct {
	id    string
	total time.Duration // POST to succeeded
	// timing holds the build step's phases from its "timing:" line (install, build, ...).
	timing map[string]time.Duration
	// peak is the peak memory of each sandboxed step ("install", "build"), from its summary line;
	// absent when the step did not run (a restored npm ci).
	peak map[string]int64
	// cpu is the CPU time of install and build together (less disturbed than wall time by other
	// work on the machine).
	cpu time.Duration
	// installs says that the plan has an install step (a Node project), so a build cache.
	installs bool
}

// starterRow is one line of the table: a repository deployed cold and warm.
type starterRow struct {
	name, what string
	files      int
	cold, warm deployRun
}

// deployStarter deploys files from a new repository twice and checks both deployments.
func (e *env) deployStarter(t *testing.T, s starter, files map[string]string) starterRow {
	t.Helper()
	repo := e.git.NewRepo(t, s.name, files)
	_, lockfile := files["package-lock.json"]
	row := starterRow{name: s.name, what: s.what, files: len(files)}
	var coldLog, warmLog string
	row.cold, coldLog = e.measuredDeploy(t, s, repo.URL, "cold")
	e.checkServed(t, s, row.cold.id)
	if !regexp.MustCompile(`Limits: .*memory 4(\.0)? GiB`).MatchString(coldLog) {
		t.Errorf("the build log does not show the default 4 GiB memory limit:\n%s", tail(coldLog, 40))
	}
	row.warm, warmLog = e.measuredDeploy(t, s, repo.URL, "warm")
	e.checkServed(t, s, row.warm.id)
	want := "Build cache: Installed dependencies restored from"
	if !lockfile {
		want = "Build cache: Package downloads restored from"
	}
	if row.cold.installs && !strings.Contains(warmLog, want) {
		t.Errorf("the warm build did not use the cache (no %q):\n%s", want, tail(warmLog, 60))
	}
	t.Logf("%s: cold %s, warm %s (%.0f%%)", s.name, row.cold.total.Round(100*time.Millisecond),
		row.warm.total.Round(100*time.Millisecond), 100*row.warm.total.Seconds()/row.cold.total.Seconds())
	return row
}

// measuredDeploy deploys the repository's main branch, times it from the POST to its end, and
// reads the build log's step summaries and timing line.
func (e *env) measuredDeploy(t *testing.T, s starter, repoURL, label string) (deployRun, string) {
	t.Helper()
	t0 := time.Now()
	id := e.deploy(map[string]any{"repoUrl": repoURL, "branch": "main"}).ID
	e.wait(id, starterDeployTimeout)
	var d deploymentView
	e.do("GET", "/api/deployments/"+id, nil, &d)
	run := deployRun{id: id, total: time.Since(t0)}
	if d.FinishedAt != nil {
		run.total = d.FinishedAt.Sub(t0)
	}
	log := logText(e.readLog(id, "", time.Minute))
	if d.State != "succeeded" {
		t.Fatalf("%s deployment %s of %s: %s at %s: %s\n%s", label, id, s.name, d.State, d.Step, d.Error, tail(log, 80))
	}
	if d.Plan == nil || d.Plan.Framework != s.framework {
		t.Errorf("%s deployment %s: plan %+v, want framework %s", label, id, d.Plan, s.framework)
	}
	run.peak, run.cpu, run.timing = parseBuildLog(log)
	run.installs = d.Plan != nil && d.Plan.InstallCommand != ""
	var summary []string
	for _, l := range strings.Split(log, "\n") {
		if stepSummary.MatchString(l) || timingLine.MatchString(l) || strings.Contains(l, "Build cache") || strings.Contains(l, "Egress: ") || strings.Contains(l, "Running install") {
			summary = append(summary, "\t"+l)
		}
	}
	t.Logf("%s deployment %s of %s: %s\n%s", label, id, s.name, run.total.Round(100*time.Millisecond), strings.Join(summary, "\n"))
	return run, log
}

// checkServed fetches the deployment's root page through the request handler, then one asset
// it references whose name carries a content hash.
func (e *env) checkServed(t *testing.T, s starter, id string) {
	t.Helper()
	host := id + ".localhost"
	res, body := e.fetchSite(host, "/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / of %s = %d %q", id, res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), s.marker) {
		t.Errorf("the root page of %s lacks %q:\n%.2000s", id, s.marker, body)
	}
	ref := ""
	for _, m := range assetRefs.FindAllStringSubmatch(string(body), -1) {
		if v := m[1] + m[2] + m[3]; s.asset.MatchString(v) {
			ref = v
			break
		}
	}
	if ref == "" {
		t.Fatalf("the root page of %s references no asset matching %s:\n%.3000s", id, s.asset, body)
	}
	u, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	p := (&url.URL{Path: "/"}).ResolveReference(u).Path
	res, asset := e.fetchSite(host, p)
	ct := res.Header.Get("Content-Type")
	if res.StatusCode != http.StatusOK || len(asset) == 0 {
		t.Fatalf("GET %s of %s = %d, %d bytes", p, id, res.StatusCode, len(asset))
	}
	want := assetTypes[path.Ext(p)]
	if want == "" || !sameMediaType(ct, want) {
		t.Errorf("GET %s: Content-Type %q, want %q", p, ct, want)
	}
}

// assetTypes are the media types a browser needs for the hashed assets the starters reference.
var assetTypes = map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

// assetRefs finds src and href attribute values, quoted or not (minified HTML drops quotes).
var assetRefs = regexp.MustCompile(`\b(?:src|href)\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)'|([^\s"'<>]+))`)

// sameMediaType compares media types without parameters (charset), treating the two names of
// JavaScript as one.
func sameMediaType(a, b string) bool {
	norm := func(s string) string {
		s, _, _ = strings.Cut(s, ";")
		s = strings.TrimSpace(strings.ToLower(s))
		if s == "application/javascript" {
			s = "text/javascript"
		}
		return s
	}
	return norm(a) == norm(b)
}

var (
	stepSummary = regexp.MustCompile(`\[build\] (Install|Build) finished in \S+ \(peak memory ([0-9.]+) (B|KiB|MiB|GiB), CPU (\S+)\)`)
	timingLine  = regexp.MustCompile(`\[build\] timing: (.*)`)
)

// parseBuildLog reads the peak memory and CPU time of each step and the timing line of a
// build log.
func parseBuildLog(log string) (map[string]int64, time.Duration, map[string]time.Duration) {
	units := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	peak := map[string]int64{}
	var cpu time.Duration
	for _, m := range stepSummary.FindAllStringSubmatch(log, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		peak[strings.ToLower(m[1])] = int64(v * units[m[3]])
		if d, err := time.ParseDuration(m[4]); err == nil {
			cpu += d
		}
	}
	timing := map[string]time.Duration{}
	if m := timingLine.FindStringSubmatch(log); m != nil {
		for _, f := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(f, "=")
			if d, err := time.ParseDuration(v); err == nil {
				timing[k] = d
			}
		}
	}
	return peak, cpu, timing
}

// starterTable renders the rows as the Markdown table of README.
func starterTable(rows []starterRow, started time.Time, load0, load1 string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Starters deployed %s on %d cores (load average %s at the start, %s at the end); Node %s.\n\n",
		started.UTC().Format("2006-01-02"), runtime.NumCPU(), load0, load1, nodeVersion())
	b.WriteString("| starter | generator | files | cold s | warm s | warm/cold | install s cold → warm | build s cold → warm | CPU s cold → warm | peak memory install / build |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	sec := func(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }
	mib := func(n int64) string {
		if n == 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %.0f %% | %s → %s | %s → %s | %s → %s | %s / %s |\n",
			r.name, r.what, r.files, sec(r.cold.total), sec(r.warm.total), 100*r.warm.total.Seconds()/r.cold.total.Seconds(),
			sec(r.cold.timing["install"]), sec(r.warm.timing["install"]), sec(r.cold.timing["build"]), sec(r.warm.timing["build"]),
			sec(r.cold.cpu), sec(r.warm.cpu),
			mib(max(r.cold.peak["install"], r.warm.peak["install"])), mib(max(r.cold.peak["build"], r.warm.peak["build"])))
	}
	return b.String()
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func TestParseBuildLog(t *testing.T) {
	log := "[build] Install finished in 4.9s (peak memory 129.6 MiB, CPU 2.71s)\n" +
		"[build] Build finished in 1m2.5s (peak memory 1.5 GiB, CPU 1m0.5s)\n" +
		"[build] timing: download=0.01s restore=3.72s install=0.00s build=5.03s save=0.00s output=0.14s upload=0.01s total=9.08s\n"
	peak, cpu, timing := parseBuildLog(log)
	if mib := float64(peak["install"]) / (1 << 20); mib < 129.59 || mib > 129.61 || peak["build"] != 3<<29 {
		t.Errorf("peak = %v", peak)
	}
	if cpu != 2710*time.Millisecond+60500*time.Millisecond {
		t.Errorf("cpu = %s", cpu)
	}
	if timing["restore"] != 3720*time.Millisecond || timing["total"] != 9080*time.Millisecond || len(timing) != 8 {
		t.Errorf("timing = %v", timing)
	}
	if p, c, tm := parseBuildLog("[build] Dependencies restored from the build cache (exact lockfile match): npm ci skipped\n"); len(p) != 0 || c != 0 || len(tm) != 0 {
		t.Errorf("a log without summaries gave %v %s %v", p, c, tm)
	}
}

func TestSelectStarters(t *testing.T) {
	names := func(ss []starter) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.name)
		}
		return strings.Join(out, ",")
	}
	if got := names(selectStarters(t, "")); got != "create-react-app,nextjs-server,nextjs-export,vite-react-ts,vite-react-ts-no-lockfile" {
		t.Errorf("default starters = %s", got)
	}
	if got := names(selectStarters(t, "hugo, astro")); got != "hugo,astro" {
		t.Errorf("named starters = %s", got)
	}
	if got := selectStarters(t, "all"); len(got) != len(starters) {
		t.Errorf("all = %d starters, want %d", len(got), len(starters))
	}
	for _, s := range starters {
		if s.from != "" && findStarter(s.from) == nil {
			t.Errorf("%s starts from %s, which is no starter", s.name, s.from)
		}
		if s.detectError == "" && (s.asset == nil || s.marker == "") {
			t.Errorf("%s has no marker or asset to check", s.name)
		}
	}
}
