package e2e

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/servehandler"
)

// waitStep waits until a deployment is running the given step.
func (e *env) waitStep(id, step string, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var d gateway.Deployment
	code := 0
	for time.Now().Before(deadline) {
		d = gateway.Deployment{}
		if code = e.do("GET", "/api/deployments/"+id, nil, &d); code == 200 && d.Step == step && d.State == "running" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("deployment %s never reached step %s (last answer %d: state %q step %q error %q)", id, step, code, d.State, d.Step, d.Error)
}

// TestFaults injects faults into the real services in the middle of deployments: Temporal
// restarts, Redis goes away, object storage refuses requests for 20 seconds.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault-injection test")
	}
	e := startEnv(t, nil)
	ctx := context.Background()

	t.Run("Temporal server restarts mid-deployment", func(t *testing.T) {
		tallyFault(t, "Temporal server restarted mid-deployment")
		repo := e.git.NewRepo(t, "temporal-restart", map[string]string{"index.html": "<h1>survived a Temporal restart</h1>"})
		e.git.SetFetchDelay(4 * time.Second)
		defer e.git.SetFetchDelay(0)
		id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		e.waitStep(id, "clone", time.Minute)
		e.stack.Temporal.Proc.Stop(10 * time.Second)
		time.Sleep(2 * time.Second)
		if err := e.stack.Temporal.Proc.Start(ctx, 60*time.Second); err != nil {
			t.Fatalf("restart Temporal: %v", err)
		}
		e.git.SetFetchDelay(0)
		d := e.wait(id, 3*time.Minute)
		if d.State != "succeeded" {
			t.Fatalf("after a Temporal restart: %s: %s", d.State, d.Error)
		}
	})

	t.Run("Redis stops mid-deployment", func(t *testing.T) {
		tallyFault(t, "Redis stopped mid-deployment")
		repo := e.git.NewRepo(t, "redis-down", map[string]string{"index.html": "<h1>no redis</h1>", "a.css": "a{}"})
		e.git.SetFetchDelay(2 * time.Second)
		defer e.git.SetFetchDelay(0)
		id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		e.waitStep(id, "clone", time.Minute)
		e.stack.Redis.Proc.Stop(5 * time.Second)
		defer func() {
			if err := e.stack.Redis.Proc.Start(ctx, 20*time.Second); err != nil {
				t.Errorf("restart Redis: %v", err)
			}
		}()
		d := e.wait(id, 2*time.Minute) // the API answers from Temporal
		if d.State != "succeeded" {
			t.Fatalf("with Redis down: %s: %s", d.State, d.Error)
		}
		// The whole log is still there, from the archive the workers wrote to object storage.
		text := logText(e.readLog(id, "", 30*time.Second))
		for _, want := range []string{"[clone] Cloned commit", "[detect] Detected", "[upload] Uploaded source snapshot", "[publish] Manifest written"} {
			if !strings.Contains(text, want) {
				t.Errorf("archived log lacks %q:\n%s", want, text)
			}
		}
	})

	t.Run("object storage refuses requests for 20 seconds during upload and publish", func(t *testing.T) {
		tallyFault(t, "object storage down for 20s during upload and publish")
		repo := e.git.NewRepo(t, "s3-down", map[string]string{"index.html": "<h1>storage came back</h1>", "app.js": "let x = 1;"})
		e.git.SetFetchDelay(2 * time.Second)
		defer e.git.SetFetchDelay(0)
		id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		e.waitStep(id, "clone", time.Minute)
		e.stack.S3.Proc.Stop(5 * time.Second)
		down := time.Now()
		// While storage is down the deployment cannot become live, and it is not failed either.
		time.Sleep(20 * time.Second)
		var mid gateway.Deployment
		e.do("GET", "/api/deployments/"+id, nil, &mid)
		if mid.State != "running" {
			t.Errorf("during the outage the deployment is %s (%s), want running and retrying", mid.State, mid.Error)
		}
		if res, _ := e.fetchSite(id+".localhost", "/"); res.StatusCode == http.StatusOK {
			t.Errorf("a deployment that has not published was served during the outage")
		}
		if err := e.stack.S3.Proc.Start(ctx, 20*time.Second); err != nil {
			t.Fatalf("restart object storage: %v", err)
		}
		t.Logf("object storage was down for %s", time.Since(down).Round(time.Second))
		d := e.wait(id, 3*time.Minute)
		if d.State != "succeeded" {
			t.Fatalf("after the outage: %s: %s", d.State, d.Error)
		}
		if _, err := e.stack.S3.Store().GetBytes(ctx, storage.ManifestKey(id), 1<<20); err != nil {
			t.Fatalf("manifest after recovery: %v", err)
		}
		if res, body := e.fetchSite(id+".localhost", "/"); res.StatusCode != http.StatusOK || !strings.Contains(string(body), "storage came back") {
			t.Errorf("after recovery GET / = %d %q", res.StatusCode, body)
		}
	})

	t.Run("request handler serves from cache while object storage is down", func(t *testing.T) {
		// One outage, one item: cached sites keep answering, and a handler started meanwhile
		// comes up and serves once storage returns.
		tallyFault(t, "object storage down while sites are served")
		repo := e.git.NewRepo(t, "cached-site", map[string]string{"index.html": "<h1>cached</h1>", "style.css": "h1{color:red}"})
		id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
		if d := e.wait(id, time.Minute); d.State != "succeeded" {
			t.Fatalf("%s: %s", d.State, d.Error)
		}
		host := id + ".localhost"
		for _, p := range []string{"/", "/style.css"} {
			if res, _ := e.fetchSite(host, p); res.StatusCode != http.StatusOK {
				t.Fatalf("warm-up GET %s = %d", p, res.StatusCode)
			}
		}
		e.stack.S3.Proc.Stop(5 * time.Second)
		restarted := false
		defer func() {
			if !restarted {
				_ = e.stack.S3.Proc.Start(ctx, 20*time.Second)
			}
		}()
		for _, p := range []string{"/", "/style.css"} {
			if res, body := e.fetchSite(host, p); res.StatusCode != http.StatusOK || len(body) == 0 {
				t.Errorf("with storage down, cached GET %s = %d", p, res.StatusCode)
			}
		}
		// A request handler started while storage is down comes up and serves once it returns.
		fresh := servehandler.New(readOnlyStore(t, e.cfg), platform.ServeOptions(e.cfg, testenv.Logger(t)))
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		adminLn, _ := net.Listen("tcp", "127.0.0.1:0")
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() { _ = servehandler.Serve(sctx, fresh, ln, adminLn) }()
		get := func(addr, path string) int {
			req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
			req.Host = host
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0
			}
			res.Body.Close()
			return res.StatusCode
		}
		if code := get(adminLn.Addr().String(), "/healthz"); code != http.StatusOK {
			t.Errorf("new handler /healthz with storage down = %d, want 200", code)
		}
		if code := get(ln.Addr().String(), "/"); code == http.StatusOK {
			t.Errorf("new handler served a site it cannot have read")
		}
		if err := e.stack.S3.Proc.Start(ctx, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		restarted = true
		deadline := time.Now().Add(15 * time.Second)
		code := 0
		for time.Now().Before(deadline) {
			if code = get(ln.Addr().String(), "/"); code == http.StatusOK {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code != http.StatusOK {
			t.Errorf("handler started during the outage still answers %d after storage returned", code)
		}
	})
}
