package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
)

// cliResult is what one run of the skydeploy command printed and how it ended.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs the skydeploy binary with only the given SKYDEPLOY_* client settings (and an
// empty configuration file path), so the developer's own settings never leak in.
func runCLI(t testing.TB, env map[string]string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, skydeployBinary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SKYDEPLOY_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if _, ok := env["SKYDEPLOY_CONFIG"]; !ok {
		cmd.Env = append(cmd.Env, "SKYDEPLOY_CONFIG="+filepath.Join(t.TempDir(), "none.json"))
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("skydeploy %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("$ skydeploy %s\n%s", strings.Join(args, " "), res)
	return res
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var startedRE = regexp.MustCompile(`Deployment ([a-z0-9]+) started`)

// TestCLI drives the real stack through the skydeploy command as a user would: deploy a static
// site (steps, log lines, URL, exit 0), a repository that cannot deploy (exit 1 and the
// reason), ls, logs, errors without a token or gateway, login; then the metrics and health
// endpoints of the gateway and the worker.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	workerAdmin := freeAddr(t)
	e := startEnv(t, func(c *config.Config) { c.MetricsAddr = workerAdmin })
	skydeployBinary(t)
	env := map[string]string{"SKYDEPLOY_API_URL": e.api.URL, "SKYDEPLOY_TOKEN": e.cfg.APIToken}

	site := e.git.NewRepo(t, "cli-site", map[string]string{
		"index.html": "<!doctype html><title>CLI</title><h1>Deployed by the CLI</h1>\n",
		"about.html": "<h1>About</h1>\n",
	})
	var okID string
	t.Run("deploy", func(t *testing.T) {
		r := runCLI(t, env, "deploy", site.URL, "--branch", "main")
		if r.code != 0 {
			t.Fatalf("deploy failed:\n%s", r)
		}
		m := startedRE.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no deployment id in the output:\n%s", r)
		}
		okID = m[1]
		for _, want := range []string{
			"✓ clone ", "✓ detect ", "✓ upload ", "✓ publish ", // steps with durations
			"[clone] Cloning " + site.URL, "[detect] Detected", // log lines
			"✓ Deployed " + okID, e.cfg.SiteURL(okID), // the URL
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if !regexp.MustCompile(`✓ clone \d+\.\ds`).MatchString(r.stdout) {
			t.Errorf("clone step has no duration")
		}
		d := e.wait(okID, 30*time.Second)
		if d.State != "succeeded" {
			t.Fatalf("deployment %s is %s", okID, d.State)
		}
	})
	if okID == "" {
		t.FailNow()
	}

	t.Run("deploy failure", func(t *testing.T) {
		bad := e.git.NewRepo(t, "cli-nothing", map[string]string{"README.md": "# nothing to serve\n"})
		r := runCLI(t, env, "deploy", bad.URL)
		if r.code != 1 {
			t.Fatalf("deploy of a repository without a site: want exit 1\n%s", r)
		}
		if !strings.Contains(r.stderr, "failed at detect") || !strings.Contains(r.stderr, "no index.html") {
			t.Errorf("stderr does not say why:\n%s", r.stderr)
		}
		if !strings.Contains(r.stdout, "✗ detect") {
			t.Errorf("the failed step is not shown")
		}
	})

	t.Run("deploy rejected", func(t *testing.T) {
		r := runCLI(t, env, "deploy", "file:///etc")
		if r.code != 1 || r.stderr == "" {
			t.Fatalf("deploy of a file:// URL: want exit 1 with the reason\n%s", r)
		}
	})

	t.Run("ls", func(t *testing.T) {
		r := runCLI(t, env, "ls", "--limit", "10")
		if r.code != 0 || !strings.Contains(r.stdout, okID) || !strings.Contains(r.stdout, "ID") || !strings.Contains(r.stdout, "succeeded") {
			t.Fatalf("ls does not list %s:\n%s", okID, r)
		}
		r = runCLI(t, env, "ls", "--status", "failed")
		if r.code != 0 || strings.Contains(r.stdout, okID) {
			t.Fatalf("ls --status failed lists the succeeded deployment:\n%s", r)
		}
	})

	t.Run("logs", func(t *testing.T) {
		r := runCLI(t, env, "logs", okID)
		if r.code != 0 || !strings.Contains(r.stdout, "[clone] Cloning") || !strings.Contains(r.stdout, "[publish]") {
			t.Fatalf("logs:\n%s", r)
		}
		r = runCLI(t, env, "logs", "-f", okID)
		if r.code != 0 || !strings.Contains(r.stdout, "[detect] Detected") || !strings.Contains(r.stdout, e.cfg.SiteURL(okID)) {
			t.Fatalf("logs -f:\n%s", r)
		}
		r = runCLI(t, env, "logs", "doesnotexist1")
		if r.code == 0 || !strings.Contains(r.stderr, "not found") {
			t.Fatalf("logs of an unknown deployment:\n%s", r)
		}
	})

	t.Run("no token", func(t *testing.T) {
		r := runCLI(t, map[string]string{"SKYDEPLOY_API_URL": e.api.URL}, "ls")
		if r.code == 0 || !strings.Contains(r.stderr, "not logged in: set SKYDEPLOY_TOKEN or run skydeploy login") {
			t.Fatalf("without a token:\n%s", r)
		}
		r = runCLI(t, map[string]string{"SKYDEPLOY_API_URL": e.api.URL, "SKYDEPLOY_TOKEN": "skd_wrong"}, "deploy", site.URL)
		if r.code == 0 || !strings.Contains(r.stderr, "not logged in") {
			t.Fatalf("with a wrong token:\n%s", r)
		}
	})

	t.Run("no gateway", func(t *testing.T) {
		url := "http://" + freeAddr(t)
		r := runCLI(t, map[string]string{"SKYDEPLOY_API_URL": url, "SKYDEPLOY_TOKEN": e.cfg.APIToken}, "ls")
		if r.code == 0 || !strings.Contains(r.stderr, "cannot reach the gateway at "+url) {
			t.Fatalf("without a gateway:\n%s", r)
		}
	})

	t.Run("login", func(t *testing.T) {
		cfgPath := filepath.Join(t.TempDir(), "skydeploy", "config.json")
		r := runCLI(t, map[string]string{"SKYDEPLOY_CONFIG": cfgPath}, "login", "--api", e.api.URL, "--token", "skd_wrong")
		if r.code == 0 {
			t.Fatalf("login with a wrong token succeeded:\n%s", r)
		}
		r = runCLI(t, map[string]string{"SKYDEPLOY_CONFIG": cfgPath}, "login", "--api", e.api.URL, "--token", e.cfg.APIToken)
		if r.code != 0 {
			t.Fatalf("login:\n%s", r)
		}
		st, err := os.Stat(cfgPath)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("config file: %v, mode %v", err, st.Mode())
		}
		r = runCLI(t, map[string]string{"SKYDEPLOY_CONFIG": cfgPath}, "ls")
		if r.code != 0 || !strings.Contains(r.stdout, okID) {
			t.Fatalf("ls with the saved login:\n%s", r)
		}
	})

	t.Run("interrupt", func(t *testing.T) {
		// A gateway whose deployment never ends: Ctrl-C stops following with exit code 130.
		streaming := make(chan struct{}, 1)
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "POST" && r.URL.Path == "/api/deployments":
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprint(w, `{"id":"slow1","url":"http://slow1.localhost/","workflowId":"deploy-slow1"}`)
			case r.URL.Path == "/api/deployments/slow1/logs":
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "id: 1-0\nevent: log\ndata: {\"step\":\"build\",\"stream\":\"stdout\",\"line\":\"building forever\"}\n\n")
				w.(http.Flusher).Flush()
				select {
				case streaming <- struct{}{}:
				default:
				}
				<-r.Context().Done()
			default:
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"error":"not here"}`)
			}
		}))
		defer fake.Close()
		cmd := exec.Command(skydeployBinary(t), "deploy", "https://github.com/o/r")
		cmd.Env = append(os.Environ(), "SKYDEPLOY_API_URL="+fake.URL, "SKYDEPLOY_TOKEN=x", "SKYDEPLOY_CONFIG="+filepath.Join(t.TempDir(), "c.json"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-streaming:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("the CLI never followed the log:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("the CLI did not stop on SIGINT:\n%s", out.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Fatalf("exit code after Ctrl-C = %d, want 130\n%s", code, out.String())
		}
		if !strings.Contains(out.String(), "building forever") {
			t.Errorf("log line not shown:\n%s", out.String())
		}
	})

	t.Run("metrics and health", func(t *testing.T) {
		code, body := httpGet(t, e.api.URL+"/metrics")
		if code != 200 {
			t.Fatalf("gateway /metrics = %d", code)
		}
		for _, want := range []string{
			`skydeploy_deployments_started_total{trigger="api"}`,
			`skydeploy_gateway_requests_total{code="202",method="POST",route="/api/deployments"}`,
			`skydeploy_gateway_request_duration_seconds_bucket{method="GET",route="/api/deployments/:id/logs"`,
			"temporal_request",
			"temporal_workflow_task_queue_poll_succeed",
			"temporal_activity_execution_latency_bucket",
			"skydeploy_build_queue_backlog",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("gateway /metrics lacks %s", want)
			}
		}
		if code, body := httpGet(t, "http://"+workerAdmin+"/healthz"); code != 200 {
			t.Errorf("worker /healthz = %d %s", code, body)
		}
		if code, body := httpGet(t, "http://"+workerAdmin+"/readyz"); code != 200 || !strings.Contains(body, `"temporal":"ok"`) || !strings.Contains(body, `"storage":"ok"`) {
			t.Errorf("worker /readyz = %d %s", code, body)
		}
		if code, body := httpGet(t, "http://"+workerAdmin+"/metrics"); code != 200 || !strings.Contains(body, "temporal_activity_execution_latency") {
			t.Errorf("worker /metrics = %d (%d bytes)", code, len(body))
		}
		if code, body := httpGet(t, e.api.URL+"/api/openapi.yaml"); code != 200 || !strings.HasPrefix(body, "openapi: 3.0") {
			t.Errorf("GET /api/openapi.yaml = %d", code)
		}
	})
}
