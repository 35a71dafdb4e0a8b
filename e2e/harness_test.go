// Package e2e holds SkyDeploy's end-to-end tests: the real Temporal dev server, Redis and
// versitygw started by internal/testenv, the roles run in-process, a real git server over HTTP.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
	"github.com/skydeploy/skydeploy/servehandler"
)

// env is one running platform: services, workers, gateway.
type env struct {
	t       testing.TB
	stack   *testenv.Stack
	cfg     config.Config
	git     *testenv.GitServer
	api     *httptest.Server
	gateway *gateway.Server
	cancel  context.CancelFunc
	// sites is the request handler's address (host:port); the Host header picks the site.
	sites string
	// siteAdmin is the request handler's admin address (health, metrics).
	siteAdmin string
}

// envOptions choose what startEnvWith runs.
type envOptions struct {
	// config may change the configuration before anything starts.
	config func(*config.Config)
	// noBuildWorker leaves builds to worker processes the test starts itself.
	noBuildWorker bool
	// noLightWorker leaves workflows and light steps (clone, detect, upload, publish) to
	// worker processes the test starts itself.
	noLightWorker bool
}

// startEnv starts the services and the roles. mutate may change the config first.
func startEnv(t testing.TB, mutate func(*config.Config)) *env {
	return startEnvWith(t, envOptions{config: mutate})
}

func startEnvWith(t testing.TB, o envOptions) *env {
	t.Helper()
	st := testenv.StartStack(t)
	cfg := st.Config
	siteLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SitePort = fmt.Sprint(siteLn.Addr().(*net.TCPAddr).Port)
	cfg.AliasTTL = 200 * time.Millisecond
	if o.config != nil {
		o.config(&cfg)
	}
	e := &env{t: t, stack: st, cfg: cfg, git: testenv.StartGitServer(t), sites: siteLn.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	log := testenv.Logger(t)
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.siteAdmin = adminLn.Addr().String()
	serveDone := make(chan error, 1)
	handler := servehandler.New(readOnlyStore(t, cfg), platform.ServeOptions(cfg, log))
	go func() { serveDone <- servehandler.Serve(ctx, handler, siteLn, adminLn) }()
	workerDone := make(chan error, 1)
	go func() { workerDone <- platform.RunWorker(ctx, cfg, log, !o.noLightWorker, !o.noBuildWorker) }()
	gw, closeGW, err := platform.NewGateway(ctx, cfg, log, nil)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	e.gateway = gw
	e.api = httptest.NewServer(gw.Handler())
	t.Cleanup(func() {
		verifyDeployments(t, st.S3.Store())
		tally.envEnded(t)
		e.api.Close()
		cancel()
		closeGW()
		select {
		case <-workerDone:
		case <-time.After(20 * time.Second):
			t.Log("worker did not stop within 20s")
		}
		<-serveDone
	})
	return e
}

// readOnlyStore is the request handler's store: the read-only user, as in production.
func readOnlyStore(t testing.TB, cfg config.Config) *storage.Store {
	t.Helper()
	store, readOnly := platform.NewServeStore(cfg)
	if !readOnly {
		t.Fatal("the test stack has no read-only storage user")
	}
	return store
}

// fetchSite requests path from the request handler with the given Host header.
func (e *env) fetchSite(host, path string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.sites+path, nil)
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// do sends a JSON request to the gateway and decodes the JSON answer into out.
func (e *env) do(method, path string, body any, out any) int {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	if e.cfg.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+e.cfg.APIToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

// deploy starts a deployment and returns its id.
func (e *env) deploy(req map[string]any) gateway.StartedDeployment {
	e.t.Helper()
	var started gateway.StartedDeployment
	if code := e.do("POST", "/api/deployments", req, &started); code != http.StatusAccepted {
		e.t.Fatalf("POST /api/deployments = %d", code)
	}
	return started
}

// wait polls a deployment until it has ended or timeout passes.
func (e *env) wait(id string, timeout time.Duration) gateway.Deployment {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var d gateway.Deployment
	for time.Now().Before(deadline) {
		code := e.do("GET", "/api/deployments/"+id, nil, &d)
		if code == http.StatusOK && (d.State == "succeeded" || d.State == "failed" || d.State == "canceled") {
			return d
		}
		time.Sleep(300 * time.Millisecond)
	}
	e.t.Fatalf("deployment %s did not end within %s (last state %q, step %q)", id, timeout, d.State, d.Step)
	return d
}

type sseEvent struct {
	ID, Event, Data string
}

// readLog reads the SSE log stream of a deployment until its "end" event.
func (e *env) readLog(id string, lastEventID string, timeout time.Duration) []sseEvent {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.api.URL+"/api/deployments/"+id+"/logs", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	if e.cfg.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+e.cfg.APIToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("logs: %v", err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		e.t.Fatalf("logs Content-Type = %q", ct)
	}
	var events []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Event != "" {
				events = append(events, cur)
				if cur.Event == "end" {
					return events
				}
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		}
	}
	e.t.Fatalf("log stream of %s ended without an end event (%d events): %v", id, len(events), sc.Err())
	return nil
}

func logText(events []sseEvent) string {
	var b strings.Builder
	for _, ev := range events {
		if ev.Event != "log" {
			continue
		}
		var l struct {
			Step, Stream, Line string
		}
		_ = json.Unmarshal([]byte(ev.Data), &l)
		fmt.Fprintf(&b, "[%s] %s\n", l.Step, l.Line)
	}
	return b.String()
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// skydeployBinary builds the skydeploy command once per test run.
func skydeployBinary(t testing.TB) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skydeploy-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "skydeploy")
		cmd := exec.Command("go", "build", "-o", binaryPath, "./cmd/skydeploy")
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// startWorkerProcess runs `skydeploy worker <args>` as a separate process (its own process
// group, so a test can kill -9 it like a crash) with the env's configuration.
func (e *env) startWorkerProcess(args ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(skydeployBinary(e.t), append([]string{"worker"}, args...)...)
	cmd.Env = append(os.Environ(), e.cfg.Environ()...)
	logFile, err := os.CreateTemp("", "worker-*.log")
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logFile.Close()
		os.Remove(logFile.Name())
	})
	return cmd
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
