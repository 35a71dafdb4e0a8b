package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/platform"
	"github.com/skydeploy/skydeploy/internal/sandbox"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

// netProbeJS tries every target given as argv[3..] ("name=host:port") twice — a direct TCP
// connection, and a CONNECT through HTTP_PROXY — plus a plain HTTP GET of the allowed control
// URL argv[2] through the proxy, and writes the outcomes as JSON to the file argv[1] (install)
// or into dist/index.html together with the install's file (build).
const netProbeJS = `const net = require('net');
const fs = require('fs');
const [out, control, ...targets] = process.argv.slice(2);
const results = [];
const withTimeout = (p) => Promise.race([p, new Promise(r => setTimeout(() => r('BLOCKED timeout'), 4000))]);
function direct(host, port) {
  return new Promise(resolve => {
    const s = net.connect({host, port: Number(port)});
    s.on('connect', () => { s.destroy(); resolve('REACHED'); });
    s.on('error', e => resolve('BLOCKED ' + e.code));
  });
}
function viaProxy(request, expectBody) {
  return new Promise(resolve => {
    if (!process.env.HTTP_PROXY) return resolve('BLOCKED no-proxy');
    const u = new URL(process.env.HTTP_PROXY);
    const s = net.connect({host: u.hostname, port: Number(u.port)}, () => s.write(request));
    let data = '';
    s.on('data', d => {
      data += d;
      const status = data.split('\r\n')[0];
      if (!expectBody && status) { s.destroy(); resolve(status.includes(' 200 ') ? 'REACHED' : 'BLOCKED ' + status); }
    });
    s.on('end', () => resolve(data.includes(expectBody) ? 'REACHED' : 'BLOCKED ' + data.split('\r\n')[0]));
    s.on('error', e => resolve('BLOCKED proxy ' + e.code));
  });
}
(async () => {
  for (const t of targets) {
    const [name, hostport] = t.split('=');
    const i = hostport.lastIndexOf(':');
    const host = hostport.slice(0, i), port = hostport.slice(i + 1);
    results.push({name, via: 'direct', outcome: await withTimeout(direct(host, port))});
    results.push({name, via: 'proxy', outcome: await withTimeout(viaProxy('CONNECT ' + hostport + ' HTTP/1.1\r\nHost: ' + hostport + '\r\n\r\n'))});
  }
  const c = new URL(control);
  results.push({name: 'allowed', via: 'proxy', outcome: await withTimeout(viaProxy('GET ' + control + ' HTTP/1.1\r\nHost: ' + c.host + '\r\nConnection: close\r\n\r\n', 'allowed-ok'))});
  if (out === 'install') {
    fs.writeFileSync('probe-install.json', JSON.stringify(results));
  } else {
    fs.mkdirSync('dist', {recursive: true});
    const install = JSON.parse(fs.readFileSync('probe-install.json', 'utf8'));
    fs.writeFileSync('dist/index.html', JSON.stringify({install, build: results}));
  }
})();
`

type probeResult struct {
	Name, Via, Outcome string
}

// TestBuildsCannotReachThePlatform: a repository's install script (npm's preinstall) and its
// build script each try every service of the platform, internal addresses and a host outside
// the allow-list, directly and through the proxy; what they saw is published as the site, and
// the test reads it from the request handler. Only the explicitly allowed host answers.
func TestBuildsCannotReachThePlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "allowed-ok") }))
	defer allowed.Close()
	e := startEnv(t, func(c *config.Config) {
		// The registry and one loopback server allowed by the operator; nothing else. "localhost"
		// is allowed by mistake: it resolves to loopback, which stays refused.
		c.BuildEgress = "registry.npmjs.org,localhost," + allowed.Listener.Addr().String()
	})
	_, redisPort, _ := net.SplitHostPort(e.stack.Redis.Proc.Addr)
	targets := []string{
		"redis=" + e.stack.Redis.Proc.Addr,
		"temporal=" + e.stack.Temporal.Address,
		"s3=" + hostPortOf(t, e.stack.S3.Endpoint),
		"gateway=" + hostPortOf(t, e.api.URL),
		"request-handler=" + e.sites,
		"handler-admin=" + e.siteAdmin,
		"private=10.11.12.13:80",
		"link-local=169.254.169.254:80",
		"loopback-name=localhost:" + redisPort,
		"outside-allow-list=example.com:443",
	}
	args := "http://" + allowed.Listener.Addr().String() + "/ " + strings.Join(targets, " ")
	pkg := fmt.Sprintf(`{"name":"prober","version":"1.0.0","private":true,"scripts":{"preinstall":"node probe.js install %s","build":"node probe.js build %s"}}`, args, args)
	repo := e.git.NewRepo(t, "net-prober", map[string]string{
		"package.json":      pkg,
		"package-lock.json": `{"name":"prober","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"prober","version":"1.0.0"}}}`,
		"probe.js":          netProbeJS,
	})
	id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
	d := e.wait(id, 4*time.Minute)
	log := logText(e.readLog(id, "", 30*time.Second))
	if d.State != "succeeded" {
		t.Fatalf("%s: %s\n%s", d.State, d.Error, log)
	}
	res, body := e.fetchSite(id+".localhost", "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
	var seen struct{ Install, Build []probeResult }
	if err := json.Unmarshal(body, &seen); err != nil {
		t.Fatalf("served report: %v\n%s", err, body)
	}
	for phase, results := range map[string][]probeResult{"install": seen.Install, "build": seen.Build} {
		if len(results) != 2*len(targets)+1 {
			t.Fatalf("%s reported %d attempts, want %d: %+v", phase, len(results), 2*len(targets)+1, results)
		}
		for _, r := range results {
			reached := r.Outcome == "REACHED"
			if r.Name == "allowed" {
				if !reached {
					t.Errorf("%s: the allowed host was not reachable through the proxy: %s", phase, r.Outcome)
				}
				continue
			}
			if reached || !strings.HasPrefix(r.Outcome, "BLOCKED") {
				t.Errorf("%s reached %s %s: %s", phase, r.Name, r.Via, r.Outcome)
			}
		}
	}
	// The proxy said why, once per refusal, in the build log.
	for _, want := range []string{
		"Egress refused (install): " + e.stack.Redis.Proc.Addr + ": address of a platform service",
		"Egress refused (build): " + e.stack.Temporal.Address + ": address of a platform service",
		"Egress refused (build): " + e.siteAdmin + ": loopback address",
		"Egress refused (build): 169.254.169.254:80: link-local address",
		"Egress refused (build): example.com:443: not in the allow-list",
		"Egress refused (install): localhost:" + redisPort + " (127.0.0.1:" + redisPort + "): address of a platform service",
		"Egress refused (install): 10.11.12.13:80: private address",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("build log lacks %q:\n%s", want, grepLines(log, "Egress"))
		}
	}
	tallyHostile(t, "install script connects to Redis, Temporal, S3, the gateway, the request handler and its admin port",
		"build script connects to Redis, Temporal, S3, the gateway, the request handler and its admin port",
		"build reaches a private address", "build reaches cloud metadata (link-local)", "build resolves a name to loopback",
		"build reaches a host outside the egress allow-list")
}

// TestPackageManagersThroughTheProxy installs real dependencies from the npm registry with
// yarn classic and pnpm (both fetched by corepack), through the egress proxy only.
func TestPackageManagersThroughTheProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.SecretKey = testSecretKey })
	for _, pm := range []struct{ fixture, marker string }{{"cache-trust", `"plain":"unset"`}, {"yarn-app", "built with yarn/1.22.22: true"}, {"pnpm-app", "built with pnpm/9.15.9: true"}} {
		t.Run(pm.fixture, func(t *testing.T) {
			repo := e.git.NewRepo(t, pm.fixture, fixture(t, pm.fixture))
			// The npm registry mirror this machine reaches serves package metadata without the
			// signatures corepack verifies; a project on the real registry needs no such variable.
			code := e.do("POST", "/api/projects", map[string]any{"name": pm.fixture, "repoUrl": repo.URL, "watch": map[string]any{"enabled": false},
				"env": []map[string]any{{"key": "COREPACK_INTEGRITY_KEYS", "value": "0", "secret": false}}}, nil)
			if code != http.StatusCreated {
				t.Fatalf("create project = %d", code)
			}
			id := e.deploy(map[string]any{"repoUrl": repo.URL, "project": pm.fixture}).ID
			d := e.wait(id, 4*time.Minute)
			log := logText(e.readLog(id, "", 30*time.Second))
			if d.State != "succeeded" {
				t.Fatalf("%s: %s\n%s", d.State, d.Error, log)
			}
			if got := e.published(t, id)["index.html"]; !strings.Contains(got, pm.marker) {
				t.Errorf("index.html = %q, want %q", got, pm.marker)
			}
			if !strings.Contains(log, "Egress: ") || !strings.Contains(log, "through registry.") || strings.Contains(log, "Egress refused") {
				t.Errorf("the install did not go (only) through the proxy:\n%s", log)
			}
			// No line of the build's own output may be a warning about a variable the platform set.
			for _, l := range buildOutput(e.readLog(id, "", 30*time.Second)) {
				if v := platformVariableIn(l); v != "" {
					t.Errorf("the build log names %s, which the platform set: %q", v, l)
				}
			}
		})
	}
}

// TestBuildWorkerFailsClosed: a build worker whose bubblewrap is missing or cannot create its
// namespaces refuses to start and says how to fix it; SKYDEPLOY_SANDBOX=none is the only way to
// build without the sandbox, and it is loud in the worker's log and in every build log.
func TestBuildWorkerFailsClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) { c.Sandbox = "none" })
	run := func(path string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, skydeployBinary(t), "worker", "--build-only")
		cfg := e.cfg
		cfg.Sandbox = "bwrap"
		cmd.Env = append([]string{"PATH=" + path, "HOME=" + t.TempDir()}, cfg.Environ()...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "bwrap"), []byte("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"no bubblewrap": t.TempDir(), "bubblewrap without user namespaces": fake} {
		out, err := run(path)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("%s: the build worker started (%v):\n%s", name, err, out)
		}
		for _, want := range []string{"build worker refuses to start", "bubblewrap", "SKYDEPLOY_SANDBOX=none"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the worker's message lacks %q:\n%s", name, want, out)
			}
		}
	}

	// With SKYDEPLOY_SANDBOX=none the worker starts, and warns as it does.
	cmd := exec.Command(skydeployBinary(t), "worker", "--build-only")
	cmd.Env = append(os.Environ(), e.cfg.Environ()...)
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(buf.String(), "builds run WITHOUT a sandbox (SKYDEPLOY_SANDBOX=none)") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("a worker with SKYDEPLOY_SANDBOX=none did not warn:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	// The in-process worker of this env runs with SKYDEPLOY_SANDBOX=none: every build says so.
	repo := e.git.NewRepo(t, "unsandboxed", buildRepo("mkdir -p dist && echo ok > dist/index.html"))
	id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
	if d := e.wait(id, 2*time.Minute); d.State != "succeeded" {
		t.Fatalf("%s: %s", d.State, d.Error)
	}
	log := logText(e.readLog(id, "", 30*time.Second))
	if !strings.Contains(log, "WARNING: this build runs WITHOUT a sandbox (SKYDEPLOY_SANDBOX=none)") {
		t.Errorf("an unsandboxed build does not say so:\n%s", log)
	}
	tallyHostile(t, "build worker without a working bubblewrap")
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRequestHandlerReadsWithReadOnlyKeys: the internet-facing role holds keys that can read
// the bucket and write nothing.
func TestRequestHandlerReadsWithReadOnlyKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	st := testenv.StartStack(t)
	ctx := context.Background()
	writer := st.S3.Store()
	if err := writer.Put(ctx, "probe/readable", []byte("hello"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	reader, readOnly := platform.NewServeStore(st.Config)
	if !readOnly {
		t.Fatal("no read-only credentials in the stack's configuration")
	}
	if got, err := reader.GetBytes(ctx, "probe/readable", 1<<10); err != nil || string(got) != "hello" {
		t.Fatalf("read with the handler's keys: %q %v", got, err)
	}
	if _, err := reader.GetBytes(ctx, "probe/missing", 1<<10); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a missing key read with the handler's keys: %v, want not found", err)
	}
	for name, write := range map[string]func() error{
		"put":    func() error { return reader.Put(ctx, "aliases/victim.json", []byte(`{}`), storage.PutOptions{}) },
		"delete": func() error { return reader.Delete(ctx, "probe/readable") },
	} {
		if err := write(); err == nil {
			t.Errorf("the request handler's keys could %s", name)
		}
	}
	if got, _ := writer.GetBytes(ctx, "probe/readable", 1<<10); string(got) != "hello" {
		t.Errorf("the object changed: %q", got)
	}
}

// buildOutput returns the lines the build's commands printed (not the platform's own).
func buildOutput(events []sseEvent) []string {
	var out []string
	for _, ev := range events {
		var l struct{ Step, Stream, Line string }
		if ev.Event == "log" && json.Unmarshal([]byte(ev.Data), &l) == nil && l.Stream != "system" {
			out = append(out, l.Line)
		}
	}
	return out
}

// platformVariableIn returns the platform-set variable a line names, if any: the variable
// itself, or the setting npm reads from an npm_config_* variable ("store-dir" for
// npm_config_store_dir) when the line complains about a config. Generic names (PATH, HOME…)
// are left out: builds print them for good reasons.
func platformVariableIn(line string) string {
	for _, name := range sandbox.PlatformEnvNames() {
		if !strings.Contains(name, "_") {
			continue
		}
		if strings.Contains(line, name) {
			return name
		}
		if key, ok := strings.CutPrefix(name, "npm_config_"); ok && strings.Contains(line, "config") &&
			strings.Contains(line, `"`+strings.ReplaceAll(key, "_", "-")+`"`) {
			return name
		}
	}
	if strings.Contains(line, "Unknown env config") {
		return "an npm_config_* variable"
	}
	return ""
}
