package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkStaticDeploy measures one static deployment of a small site end to end on the real
// stack (API call to live manifest) and its parts: the clone, detect, upload and publish steps
// as the workflow timed them, and the orchestration overhead (total minus the steps).
// Run: go test -run '^$' -bench StaticDeploy -benchtime 10x ./e2e/   (or bench/deploy/run.sh)
func BenchmarkStaticDeploy(b *testing.B) {
	e := startEnv(b, nil)
	repo := e.git.NewRepo(b, "bench-site", staticSite)
	steps := map[string][]time.Duration{}
	var totals []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id := e.deploy(map[string]any{"repoUrl": repo.URL, "branch": "main"}).ID
		d := e.wait(id, time.Minute)
		total := time.Since(start)
		if d.State != "succeeded" {
			b.Fatalf("deployment %s: %s", d.State, d.Error)
		}
		var sum time.Duration
		for _, s := range d.Steps {
			if s.StartedAt != nil && s.FinishedAt != nil {
				dur := s.FinishedAt.Sub(*s.StartedAt)
				steps[s.Name] = append(steps[s.Name], dur)
				sum += dur
			}
		}
		if d.FinishedAt != nil {
			wf := d.FinishedAt.Sub(d.CreatedAt)
			steps["overhead"] = append(steps["overhead"], wf-sum)
		}
		totals = append(totals, total)
	}
	b.StopTimer()
	b.ReportMetric(ms(median(totals)), "total-ms")
	for _, name := range []string{"clone", "detect", "upload", "publish", "overhead"} {
		b.ReportMetric(ms(median(steps[name])), name+"-ms")
	}
	fmt.Printf("static deploy (median of %d): total %s | clone %s detect %s upload %s publish %s | orchestration overhead %s (total includes API polling at 300ms)\n",
		b.N, median(totals), median(steps["clone"]), median(steps["detect"]), median(steps["upload"]), median(steps["publish"]), median(steps["overhead"]))
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
