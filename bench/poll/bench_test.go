package poll

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/bench/poll/fakegithub"
	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/workers"
	"github.com/skydeploy/skydeploy/workflows"
)

// parkedQueue is where the deployments started by polls wait: no worker serves it, so the
// bench measures polling, not cloning github.com (which this machine cannot reach).
const parkedQueue = "bench-parked-deployments"

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func BenchmarkPollSchedules(b *testing.B) {
	n := envInt("N", 200)
	minutes := envInt("MINUTES", 10)
	pushRate := 0.05
	if f, err := strconv.ParseFloat(os.Getenv("PUSH_RATE"), 64); err == nil && f >= 0 && f <= 1 {
		pushRate = f
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	st := testenv.StartStack(b)
	fake := fakegithub.New()
	fake.Budget = 5000 // GitHub's hourly budget for a token
	github := httptest.NewServer(fake)
	defer github.Close()
	cfg := st.Config
	cfg.GitHubAPIURL = github.URL
	cfg.GitHubToken = "bench-github-token"
	cfg.PollRequestsPerHour = envInt("POLL_PER_HOUR", 0)
	cfg.KeepDeployments = 0 // no retention workflows: they belong to deployments, not to polling
	log := testenv.Logger(b)

	workerDone := make(chan error, 1)
	go func() { workerDone <- runWorker(ctx, cfg, log) }()
	gw, closeGW, err := platform.NewGateway(ctx, cfg, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	apiServer := httptest.NewServer(gw.Handler())
	defer func() {
		apiServer.Close()
		cancel()
		closeGW()
		select {
		case <-workerDone:
		case <-time.After(20 * time.Second):
		}
	}()
	tc, err := platform.TemporalClient(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()
	serverPID, err := pidOf(st.Temporal.DBFile)
	if err != nil {
		b.Fatal(err)
	}
	// What the dev server uses doing nothing, to tell polling's share from its own.
	idle0 := cpuSeconds(serverPID)
	time.Sleep(20 * time.Second)
	idle := (cpuSeconds(serverPID) - idle0) / 20

	// N watched projects, created as a user would: each POST creates its poll schedule, which
	// polls at once and then every minute.
	repos := make([]string, n)
	for i := range repos {
		repos[i] = fmt.Sprintf("repo-%04d", i)
		fake.Push("bench", repos[i], "main")
	}
	begin := time.Now()
	ac := apiclient.New(apiServer.URL, cfg.APIToken)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := ac.CreateProject(ctx, api.ProjectInput{
				Name: apiclient.String(fmt.Sprintf("p%04d", i)), RepoURL: apiclient.String("https://github.com/bench/" + repos[i]),
				Watch: &api.WatchInput{Enabled: apiclient.Bool(true), Interval: apiclient.String("1m")},
			})
			if err != nil {
				errs <- fmt.Errorf("create project p%04d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	created := time.Since(begin)

	// The measured window: whole minutes, starting at least 20 s after the first polls.
	t0 := time.Now().Add(20 * time.Second).Truncate(time.Minute).Add(time.Minute)
	t1 := t0.Add(time.Duration(minutes) * time.Minute)
	fmt.Printf("%d projects with their poll schedules created in %s; measuring polls due from %s to %s\n",
		n, created.Round(100*time.Millisecond), t0.Format("15:04:05"), t1.Format("15:04:05"))
	time.Sleep(time.Until(t0))
	cpu0, cpuSelf0 := cpuSeconds(serverPID), cpuSeconds(os.Getpid())
	busy0, io0, all0 := machineCPU()
	loads := sampleLoad(ctx, t1)
	db0 := dbBytes(st.Temporal.DBFile)
	stats0 := fake.Stats()

	// Commits land half-way between polls: a distinct random set of repositories each minute,
	// each seen by the next poll (the last minute gets none, its poll is after the window).
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	pushes := 0
	for k := 0; k < minutes-1; k++ {
		time.Sleep(time.Until(t0.Add(time.Duration(k)*time.Minute + 30*time.Second)))
		for _, i := range rng.Perm(n)[:int(float64(n)*pushRate)] {
			fake.Push("bench", repos[i], "main")
			pushes++
		}
	}
	time.Sleep(time.Until(t1))
	cpu1, cpuSelf1 := cpuSeconds(serverPID), cpuSeconds(os.Getpid())
	busy1, io1, all1 := machineCPU()
	db1 := dbBytes(st.Temporal.DBFile)
	stats1 := fake.Stats()

	// Stop the schedules, let the polls finish, then read them from visibility: on a busy dev
	// server (SQLite) list queries time out while a thousand schedules keep it writing.
	pauseAll(b, tc, n)
	quiet := time.Now().Add(10 * time.Minute)
	running := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.PollWorkflowName)
	for left := count(b, tc, running); left > 0; left = count(b, tc, running) {
		if time.Now().After(quiet) {
			fmt.Printf("%d polls still running 10 minutes after the window\n", left)
			break
		}
		time.Sleep(5 * time.Second)
	}
	runs := listPolls(b, tc, t0.Add(-time.Minute))
	r := summarise(runs, t0, t1)
	sched, undescribed := scheduleTotals(tc, n)
	// Polls that ran after the window (one skipped in it sees its commit later) count too: the
	// totals are compared once they agree. Every new head GitHub answered started one deployment.
	deployed, counted := countDeployments(b, tc, fake)
	deployedInWindow := countStable(b, tc, fmt.Sprintf("WorkflowType = '%s' AND %s = 'poll' AND StartTime >= '%s' AND StartTime < '%s'",
		workflows.DeployWorkflowName, workflows.AttrTrigger.GetName(), t0.UTC().Format(time.RFC3339), t1.UTC().Format(time.RFC3339)))
	window := t1.Sub(t0).Seconds()
	due := n * minutes
	perHour := cfg.PollRequestsPerHour
	if perHour <= 0 {
		perHour = 54_000 // workers.NewExtra's default with a GitHub token
	}
	fmt.Printf("watched projects:        %d, polled every minute for %d minutes (head checks limited to %d/hour across workers)\n", n, minutes, perHour)
	fmt.Printf("polls made / due:        %d / %d (%.1f%%); %d failed, %d not made (skipped or missed: see the schedules line)\n",
		r.made, due, 100*float64(r.made)/float64(due), r.failed, due-r.made)
	fmt.Printf("polls made per minute:   %s\n", r.perMinute)
	fmt.Printf("schedules (lifetime):    %d actions taken, %d skipped because the previous poll was running, %d missed the 1-minute catch-up window (%d of %d schedules described)\n",
		sched.NumActions, sched.NumActionsSkippedOverlap, sched.NumActionsMissedCatchupWindow, n-undescribed, n)
	fmt.Printf("poll start lag:          p50 %s  p99 %s  max %s   (scheduled time -> workflow started)\n", pct(r.startLag, 50), pct(r.startLag, 99), pct(r.startLag, 100))
	fmt.Printf("poll lag:                p50 %s  p99 %s  max %s   (scheduled time -> poll done, deployment started)\n", pct(r.doneLag, 50), pct(r.doneLag, 99), pct(r.doneLag, 100))
	fmt.Printf("deployments started:     %d by poll workflows in the window for %d commits pushed in it; %d in all by the end (%d initial heads + commits seen), for %d new heads GitHub answered\n",
		deployedInWindow, pushes, deployed, n, counted)
	fmt.Printf("GitHub budget used:      %d requests counted in the window (%d made, %d answered 304), of %d/hour\n",
		stats1.Counted-stats0.Counted, stats1.Requests-stats0.Requests, stats1.NotModified-stats0.NotModified, fake.Budget)
	busy := cpu1 - cpu0 - idle*window
	fmt.Printf("Temporal server CPU:     %.1f s in %.0f s = %.3f cores (idle: %.3f cores); %.1f ms per poll above idle\n",
		cpu1-cpu0, window, (cpu1-cpu0)/window, idle, 1000*busy/float64(max(r.made, 1)))
	load := <-loads
	fmt.Printf("machine:                 %d cores, %.0f%% busy and %.0f%% waiting for I/O in the window (all processes); load average %.1f mean, %.1f max\n",
		runtime.NumCPU(), 100*(busy1-busy0)/max(all1-all0, 1), 100*(io1-io0)/max(all1-all0, 1), load.mean, load.max)
	fmt.Printf("bench process CPU:       %.3f cores (gateway, workers, fake GitHub)\n", (cpuSelf1-cpuSelf0)/window)
	fmt.Printf("Temporal database:       +%.1f MiB in the window (%.1f KiB per poll)\n", float64(db1-db0)/(1<<20), float64(db1-db0)/1024/float64(max(r.made, 1)))
	fmt.Printf("history events per poll: %.1f mean; %s\n", r.meanEvents, r.eventHistogram)

	b.ReportMetric(float64(r.made)/float64(due), "made/due")
	b.ReportMetric(pct(r.doneLag, 99).Seconds(), "p99-lag-s")
	b.ReportMetric((cpu1-cpu0)/window, "server-cores")
	b.ReportMetric(r.meanEvents, "events/poll")
	if r.failed > 0 {
		b.Errorf("%d polls failed", r.failed)
	}
	// Each new commit costs one counted request and starts one deployment; unchanged heads
	// cost nothing (304) and start nothing.
	if deployed != counted {
		b.Errorf("poll workflows started %d deployments for %d new heads GitHub answered", deployed, counted)
	}
	if r.made == due && deployedInWindow != pushes {
		b.Errorf("every poll ran, yet %d deployments were started in the window for %d pushed commits", deployedInWindow, pushes)
	}
}

// runWorker runs the platform's light worker and poll worker (workers.Run with the project
// activities, as platform.RunWorker wires them), with one change: the deployments that polls
// start go to parkedQueue, which no worker serves.
func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	store := platform.NewStore(cfg)
	live, err := platform.NewLive(cfg)
	if err != nil {
		return err
	}
	c, err := platform.DialTemporal(ctx, cfg, log, time.Minute)
	if err != nil {
		return err
	}
	defer c.Close()
	acts, err := platform.NewActivities(ctx, cfg, store, live, log)
	if err != nil {
		return err
	}
	o, err := platform.ProjectOptions(cfg, c, acts, log)
	if err != nil {
		return err
	}
	parked := control.SettingsFrom(cfg)
	parked.TaskQueue = parkedQueue
	o.Projects.Control = control.New(c, parked, log)
	o.TaskQueue, o.BuildTaskQueue, o.Light = cfg.TaskQueue, cfg.BuildTaskQueue, true
	return workers.Run(ctx, c, acts, o)
}

// listPolls lists every poll workflow started since since.
func listPolls(b *testing.B, tc client.Client, since time.Time) []*workflowpb.WorkflowExecutionInfo {
	var out []*workflowpb.WorkflowExecutionInfo
	req := &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, Query: fmt.Sprintf("WorkflowType = '%s' AND StartTime >= '%s'",
		workflows.PollWorkflowName, since.UTC().Format(time.RFC3339))}
	for {
		var res *workflowservice.ListWorkflowExecutionsResponse
		var err error
		for attempt := 0; attempt < 5; attempt++ { // visibility queries can time out under load
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			res, err = tc.ListWorkflow(ctx, req)
			cancel()
			if err == nil {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if err != nil {
			b.Fatalf("list polls: %v", err)
		}
		out = append(out, res.Executions...)
		if len(res.NextPageToken) == 0 {
			return out
		}
		req.NextPageToken = res.NextPageToken
	}
}

// scheduledAt is the time a schedule-started run was due: its workflow id ends with it
// ("poll-<project>-2026-12-01T14:32:00Z").
func scheduledAt(wid string) (time.Time, bool) {
	i := strings.LastIndex(wid, "-20")
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, wid[i+1:])
	return t, err == nil
}

// pauseAll pauses the projects' poll schedules (8 at a time).
func pauseAll(b *testing.B, tc client.Client, n int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var failed []error
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h := tc.ScheduleClient().GetHandle(context.Background(), workflows.PollScheduleID(fmt.Sprintf("p%04d", i)))
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err = h.Pause(ctx, client.SchedulePauseOptions{Note: "bench window over"})
				cancel()
				if err == nil {
					return
				}
			}
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		b.Fatalf("%d schedules could not be paused: %v", len(failed), failed[0])
	}
}

type pollFigures struct {
	made, failed      int
	perMinute         string
	startLag, doneLag []time.Duration
	meanEvents        float64
	eventHistogram    string
}

// scheduleTotals adds up what the projects' poll schedules report about themselves, and says
// how many could not be described (a describe is a query to the schedule's own workflow, which
// times out when the server is overloaded).
func scheduleTotals(tc client.Client, n int) (total client.ScheduleInfo, failed int) {
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; i < n; i++ {
		if time.Now().After(deadline) {
			failed += n - i
			break
		}
		h := tc.ScheduleClient().GetHandle(context.Background(), workflows.PollScheduleID(fmt.Sprintf("p%04d", i)))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		d, err := h.Describe(ctx)
		cancel()
		if err != nil {
			failed++
			continue
		}
		total.NumActions += d.Info.NumActions
		total.NumActionsSkippedOverlap += d.Info.NumActionsSkippedOverlap
		total.NumActionsMissedCatchupWindow += d.Info.NumActionsMissedCatchupWindow
	}
	return total, failed
}

func summarise(runs []*workflowpb.WorkflowExecutionInfo, t0, t1 time.Time) pollFigures {
	var f pollFigures
	events := map[int64]int{}
	minutes := make([]int, int(t1.Sub(t0)/time.Minute))
	var total int64
	for _, r := range runs {
		at, ok := scheduledAt(r.GetExecution().GetWorkflowId())
		if !ok || at.Before(t0) || !at.Before(t1) {
			continue
		}
		f.made++
		minutes[int(at.Sub(t0)/time.Minute)]++
		f.startLag = append(f.startLag, r.GetStartTime().AsTime().Sub(at))
		switch r.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			f.doneLag = append(f.doneLag, r.GetCloseTime().AsTime().Sub(at))
			events[r.GetHistoryLength()]++
			total += r.GetHistoryLength()
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		default:
			f.failed++
		}
	}
	slices.Sort(f.startLag)
	slices.Sort(f.doneLag)
	completed := len(f.doneLag)
	f.meanEvents = float64(total) / float64(max(completed, 1))
	lengths := make([]int64, 0, len(events))
	for l := range events {
		lengths = append(lengths, l)
	}
	sort.Slice(lengths, func(i, j int) bool { return lengths[i] < lengths[j] })
	var parts []string
	for _, l := range lengths {
		parts = append(parts, fmt.Sprintf("%d events × %d polls", l, events[l]))
	}
	f.eventHistogram = strings.Join(parts, ", ")
	f.perMinute = strings.Trim(fmt.Sprint(minutes), "[]")
	return f
}

// pct is the p-th percentile of sorted durations (p = 100: the largest).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)].Round(10 * time.Millisecond)
}

// countStable counts workflows matching query once visibility gives the same answer twice a
// second apart (or after 30 s).
func countStable(b *testing.B, tc client.Client, query string) int {
	deadline := time.Now().Add(30 * time.Second)
	last := -1
	for {
		got := count(b, tc, query)
		if got == last || time.Now().After(deadline) {
			return got
		}
		last = got
		time.Sleep(time.Second)
	}
}

// countDeployments returns the deployments poll workflows started and the new heads the fake
// GitHub answered (requests that cost budget), once the two agree or after 2 minutes.
func countDeployments(b *testing.B, tc client.Client, fake *fakegithub.Server) (deployed, counted int) {
	query := fmt.Sprintf("WorkflowType = '%s' AND %s = 'poll'", workflows.DeployWorkflowName, workflows.AttrTrigger.GetName())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		counted = fake.Stats().Counted
		deployed = count(b, tc, query)
		if deployed == counted || time.Now().After(deadline) {
			return deployed, counted
		}
		time.Sleep(2 * time.Second)
	}
}

func count(b *testing.B, tc client.Client, query string) int {
	var err error
	for attempt := 0; attempt < 5; attempt++ { // visibility queries can time out under load
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		var res *workflowservice.CountWorkflowExecutionsResponse
		res, err = tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		cancel()
		if err == nil {
			return int(res.GetCount())
		}
		time.Sleep(2 * time.Second)
	}
	b.Fatalf("count %q: %v", query, err)
	return 0
}

// pidOf finds the process whose command line mentions s (the dev server's database file).
func pidOf(s string) (int, error) {
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), s) && strings.Contains(string(cmd), "start-dev") {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process runs with %s", s)
}

// cpuSeconds is the user plus system CPU time a process has used (/proc/<pid>/stat).
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces, so split after its ')').
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// machineCPU returns the busy, I/O wait and total CPU time of the whole machine so far
// (/proc/stat), in clock ticks.
func machineCPU() (busy, iowait, total float64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)[1:]
	for i, f := range fields[:min(len(fields), 8)] { // guest time is already in user time
		v, _ := strconv.ParseFloat(f, 64)
		total += v
		switch i {
		case 3: // idle
		case 4:
			iowait += v
		default:
			busy += v
		}
	}
	return busy, iowait, total
}

type loadFigures struct{ mean, max float64 }

// sampleLoad reads the 1-minute load average every 10 s until end and then sends its mean
// and maximum: the machine may be shared, and the figures depend on it.
func sampleLoad(ctx context.Context, end time.Time) <-chan loadFigures {
	out := make(chan loadFigures, 1)
	go func() {
		var sum, most float64
		n := 0
		for time.Now().Before(end) && ctx.Err() == nil {
			if data, err := os.ReadFile("/proc/loadavg"); err == nil {
				if v, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64); err == nil {
					sum, most, n = sum+v, max(most, v), n+1
				}
			}
			time.Sleep(10 * time.Second)
		}
		out <- loadFigures{mean: sum / float64(max(n, 1)), max: most}
	}()
	return out
}

// dbBytes is the size of the dev server's SQLite database with its write-ahead log.
func dbBytes(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}
