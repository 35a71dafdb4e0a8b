package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
)

// BenchmarkFolderDeploy measures `skydeploy deploy DIR --prebuilt` of a 1,000-file folder on
// the real stack, run as the built binary: cold (every content new to the server), then after
// one file changed. Each time is the command's whole run (read and hash the folder, send the
// manifest and the missing contents, deploy, follow to the end), split into the client's part
// (until the deployment was requested) and the workflow's, with its upload (source snapshot)
// and publish steps. Run: bench/deploy/run.sh (FOLDER_N=3 by default).
func BenchmarkFolderDeploy(b *testing.B) {
	e := startEnv(b, nil)
	skydeployBinary(b)
	cli := map[string]string{"SKYDEPLOY_API_URL": e.api.URL, "SKYDEPLOY_TOKEN": e.cfg.APIToken}
	type run struct{ total, client, workflow, upload, publish time.Duration }
	var cold, warm []run
	deploy := func(dir string) run {
		start := time.Now()
		r := runCLI(b, cli, "deploy", dir, "--prebuilt")
		total := time.Since(start)
		if r.code != 0 {
			b.Fatalf("deploy failed:\n%s", r)
		}
		m := startedRE.FindStringSubmatch(r.stdout)
		if m == nil {
			b.Fatalf("no deployment id:\n%s", r)
		}
		var d api.Deployment
		e.do("GET", "/api/deployments/"+m[1], nil, &d)
		out := run{total: total, client: d.CreatedAt.Sub(start)}
		if d.FinishedAt != nil {
			out.workflow = d.FinishedAt.Sub(d.CreatedAt)
		}
		for _, s := range d.Steps {
			if s.StartedAt != nil && s.FinishedAt != nil {
				switch s.Name {
				case "upload":
					out.upload = s.FinishedAt.Sub(*s.StartedAt)
				case "publish":
					out.publish = s.FinishedAt.Sub(*s.StartedAt)
				}
			}
		}
		return out
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := thousandFiles(b)
		b.StartTimer()
		cold = append(cold, deploy(dir))
		b.StopTimer()
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(fmt.Sprintf("<h1>changed %d</h1>", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		warm = append(warm, deploy(dir))
	}
	b.StopTimer()
	med := func(rs []run, f func(run) time.Duration) time.Duration {
		var ds []time.Duration
		for _, r := range rs {
			ds = append(ds, f(r))
		}
		return median(ds).Round(time.Millisecond)
	}
	for _, set := range []struct {
		name string
		rs   []run
	}{{"cold", cold}, {"one file changed", warm}} {
		fmt.Printf("folder deploy, 1000 files prebuilt, %s (median of %d): total %s | client (read, hash, manifest, send) %s | workflow %s (upload step %s, publish %s)\n",
			set.name, len(set.rs), med(set.rs, func(r run) time.Duration { return r.total }), med(set.rs, func(r run) time.Duration { return r.client }),
			med(set.rs, func(r run) time.Duration { return r.workflow }), med(set.rs, func(r run) time.Duration { return r.upload }),
			med(set.rs, func(r run) time.Duration { return r.publish }))
	}
	b.ReportMetric(ms(med(cold, func(r run) time.Duration { return r.total })), "cold-ms")
	b.ReportMetric(ms(med(warm, func(r run) time.Duration { return r.total })), "one-change-ms")
}

// thousandFiles makes a folder of 1,000 files (an index.html and 999 assets of 1–4 KiB in 20
// directories) whose contents no earlier run has.
func thousandFiles(b *testing.B) string {
	dir := b.TempDir()
	files := map[string]string{"index.html": "<h1>bench</h1>"}
	for i := 1; i < 1000; i++ {
		buf := make([]byte, 512+i%1536)
		_, _ = rand.Read(buf)
		files[fmt.Sprintf("assets/d%02d/f%04d.txt", i%20, i)] = hex.EncodeToString(buf)
	}
	writeTree(b, dir, files)
	return dir
}
