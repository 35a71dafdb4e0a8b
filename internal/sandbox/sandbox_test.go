package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
)

// workspace makes a fresh workspace the build user can reach.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir's parent is private (0700); the build user must traverse it.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func haveBwrap(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bubblewrap not installed")
	}
}

// modes lists the modes to test: none always, bwrap when installed.
func modes() []string {
	if _, err := exec.LookPath("bwrap"); err == nil {
		return []string{"none", "bwrap"}
	}
	return []string{"none"}
}

type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) add(l Line) {
	c.mu.Lock()
	c.lines = append(c.lines, l)
	c.mu.Unlock()
}

func (c *collector) text(stream string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.lines {
		if stream == "" || l.Stream == stream {
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func run(t *testing.T, ctx context.Context, ws, command string, opts Options) (Result, error, *collector) {
	t.Helper()
	c := &collector{}
	res, err := Run(ctx, ws, command, opts, c.add)
	return res, err, c
}

func wantLimit(t *testing.T, err error, limit string, c *collector) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != limit {
		t.Fatalf("want %s LimitError, got %T %v\noutput:\n%s", limit, err, err, c.text(""))
	}
	if !strings.Contains(le.Error(), limit) {
		t.Fatalf("message %q does not name %q", le.Error(), limit)
	}
}

func TestCleanEnvironment(t *testing.T) {
	secrets := map[string]string{
		"SKYDEPLOY_S3_SECRET_KEY": "s3-secret-value",
		"AWS_SECRET_ACCESS_KEY":   "aws-secret-value",
		"REDIS_URL":               "redis://secret-redis",
		"GITHUB_TOKEN":            "ghp_secrettoken",
		"SKYDEPLOY_API_TOKEN":     "api-secret-token",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			ws := workspace(t)
			res, err, c := run(t, context.Background(), ws, "env", Options{
				Mode: mode,
				Env:  map[string]string{"MY_BUILD_VAR": "hello"},
			})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, c.text(""))
			}
			out := c.text("stdout")
			for k, v := range secrets {
				if strings.Contains(out, k) || strings.Contains(out, v) {
					t.Errorf("%s leaked into the build environment:\n%s", k, out)
				}
			}
			for _, want := range []string{"MY_BUILD_VAR=hello", "CI=1", "LANG=C.UTF-8", "HOME=", "TMPDIR=", "PATH=", "npm_config_cache="} {
				if !strings.Contains(out, want) {
					t.Errorf("env lacks %s:\n%s", want, out)
				}
			}
			if strings.Contains(out, "NODE_ENV") {
				t.Errorf("NODE_ENV set by default")
			}
			if mode == "bwrap" && !strings.HasPrefix(res.Sandbox, "bubblewrap") {
				t.Errorf("Sandbox = %q", res.Sandbox)
			}
			if mode == "none" && !strings.HasPrefix(res.Sandbox, "none") {
				t.Errorf("Sandbox = %q", res.Sandbox)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	ws := workspace(t)
	res, err, c := run(t, context.Background(), ws, "echo out; echo err >&2; exit 3", Options{Mode: "none"})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || res.ExitCode != 3 {
		t.Fatalf("want ExitError 3, got %v (%d)", err, res.ExitCode)
	}
	if c.text("stdout") != "out\n" || c.text("stderr") != "err\n" {
		t.Fatalf("streams: %q %q", c.text("stdout"), c.text("stderr"))
	}
}

func TestWallTime(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ws := workspace(t)
			start := time.Now()
			_, err, c := run(t, context.Background(), ws, "sleep 100", Options{Mode: mode, Limits: Limits{WallTime: 2 * time.Second}})
			wantLimit(t, err, LimitWallTime, c)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
			if !strings.Contains(err.Error(), "SKYDEPLOY_BUILD_TIMEOUT") || !strings.Contains(err.Error(), "2s") {
				t.Fatalf("message: %v", err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ws := workspace(t)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			start := time.Now()
			// A shell that ignores SIGTERM still dies within the grace period.
			_, err, _ := run(t, ctx, ws, "trap '' TERM; sleep 100; sleep 100", Options{Mode: mode})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("want context.Canceled, got %v", err)
			}
			if d := time.Since(start); d > 4500*time.Millisecond {
				t.Fatalf("cancellation took %v", d)
			}
		})
	}
}

func TestOutputLimit(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	start := time.Now()
	res, err, c := run(t, context.Background(), ws, "yes", Options{Limits: Limits{MaxOutputBytes: 1 << 20, WallTime: 20 * time.Second}})
	wantLimit(t, err, LimitOutput, c)
	if res.OutputBytes < 1<<20 {
		t.Fatalf("OutputBytes = %d", res.OutputBytes)
	}
	if n := strings.Count(c.text("stdout"), "y\n"); n > 1<<19 || n == 0 {
		t.Fatalf("%d lines delivered", n)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

// controls lists the resource controls to test: the cgroup path where this host has one, and
// the watchdog always.
func controls(t *testing.T) []string {
	t.Helper()
	out := []string{ControlWatchdog}
	if mech, _ := CheckResourceControl(ControlAuto); mech != "watchdog" {
		out = append(out, ControlAuto)
	} else if os.Geteuid() == 0 {
		t.Logf("no cgroup on this host: only the watchdog is tested")
	}
	return out
}

func TestMemoryLimitCountsTheWholeBuild(t *testing.T) {
	t.Parallel()
	// Eight processes of 64 MiB each: every one is far below the limit, together they are
	// twice it.
	hog := `node -e 'const b = Buffer.alloc(64 << 20, 1); setTimeout(() => console.log(b.length), 30000)'`
	cmd := strings.Repeat(hog+" & ", 8) + "wait"
	for _, mode := range modes() {
		for _, control := range controls(t) {
			t.Run(mode+"/"+control, func(t *testing.T) {
				t.Parallel()
				ws := workspace(t)
				start := time.Now()
				res, err, c := run(t, context.Background(), ws, cmd, Options{Mode: mode, ResourceControl: control,
					Limits: Limits{MemoryBytes: 256 << 20, WallTime: 60 * time.Second}})
				wantLimit(t, err, LimitMemory, c)
				if !strings.Contains(err.Error(), "256 MiB") || !strings.Contains(err.Error(), "SKYDEPLOY_BUILD_MEMORY_BYTES") {
					t.Fatalf("message: %v", err)
				}
				if d := time.Since(start); d > 25*time.Second {
					t.Fatalf("stopped after %v", d)
				}
				// Sampled four times a second: the last climb to the limit may fall between two
				// samples, but several hogs are up by then.
				if res.PeakMemoryBytes < 64<<20 {
					t.Errorf("peak memory %d, want the hogs' memory sampled", res.PeakMemoryBytes)
				}
				if control == ControlWatchdog && res.ResourceControl != "watchdog" || control == ControlAuto && !strings.HasPrefix(res.ResourceControl, "cgroup") {
					t.Errorf("ResourceControl = %q with %s", res.ResourceControl, control)
				}
				if !strings.Contains(c.text("system"), "Limits: "+res.ResourceControl) {
					t.Errorf("the log does not say which mechanism is in force:\n%s", c.text("system"))
				}
			})
		}
	}
}

func TestMemoryLimitAllowsVirtualReservations(t *testing.T) {
	t.Parallel()
	// V8 reserves gigabytes of address space it never touches (code range, WebAssembly guard
	// regions): a whole-build memory limit must not count them.
	// It holds its memory for a second, so that the samplers see it.
	cmd := `node -e 'const m = new WebAssembly.Memory({initial: 1, maximum: 65536}); const b = Buffer.alloc(32 << 20, 1); setTimeout(() => console.log("ok", m.buffer.byteLength, b.length), 1000)'`
	for _, control := range controls(t) {
		t.Run(control, func(t *testing.T) {
			t.Parallel()
			ws := workspace(t)
			res, err, c := run(t, context.Background(), ws, cmd, Options{ResourceControl: control,
				Limits: Limits{MemoryBytes: 256 << 20, WallTime: 30 * time.Second}})
			if err != nil || !strings.Contains(c.text("stdout"), "ok") {
				t.Fatalf("run: %v\n%s", err, c.text(""))
			}
			if res.PeakMemoryBytes <= 0 || res.PeakMemoryBytes > 256<<20 {
				t.Errorf("peak memory %d", res.PeakMemoryBytes)
			}
		})
	}
}

func TestFileSizeLimit(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ws := workspace(t)
			_, err, c := run(t, context.Background(), ws, "head -c 5000000 /dev/zero > big.bin; echo done",
				Options{Mode: mode, Limits: Limits{MaxFileBytes: 1 << 20}})
			wantLimit(t, err, LimitFileSize, c)
		})
	}
}

func TestFileCountLimit(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	_, err, c := run(t, context.Background(), ws, "mkdir many && cd many && i=0; while [ $i -lt 300 ]; do : > f$i; i=$((i+1)); done",
		Options{Limits: Limits{MaxFiles: 100}})
	wantLimit(t, err, LimitFileCount, c)
}

func TestDiskUsageLimit(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	start := time.Now()
	// Fills the disk slowly, then idles: the poll must stop it early.
	_, err, c := run(t, context.Background(), ws,
		"i=0; while [ $i -lt 40 ]; do head -c 1048576 /dev/urandom > f$i; i=$((i+1)); done; sleep 60",
		Options{Limits: Limits{MaxWorkspaceBytes: 8 << 20, MaxFileBytes: 2 << 20}})
	wantLimit(t, err, LimitDisk, c)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

// procsWithArg returns pids whose command line contains arg.
func procsWithArg(arg string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(arg)) {
			// Zombies have an empty cmdline, so this is a live process.
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestBackgroundProcessesDie(t *testing.T) {
	t.Parallel()
	for i, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ws := workspace(t)
			secs := fmt.Sprintf("%d", 3000+i*7+os.Getpid()%1000)
			cmd := fmt.Sprintf("setsid nohup sleep %s >/dev/null 2>&1 & (sleep %s &) ; nohup sleep %s & echo started", secs, secs, secs)
			_, err, c := run(t, context.Background(), ws, cmd, Options{Mode: mode})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, c.text(""))
			}
			if pids := procsWithArg("sleep\x00" + secs); len(pids) > 0 {
				for _, p := range pids {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
				t.Fatalf("background processes survived Run: %v", pids)
			}
		})
	}
}

// probeNet is a node script that tries host:port directly and, when HTTP_PROXY is set, asks the
// proxy for http://host:port/; it prints one line per attempt.
const probeNet = `const net = require('net');
const [host, port] = process.argv[2].split(':');
const direct = net.connect({host, port: Number(port), timeout: 2000});
direct.on('connect', () => { console.log('DIRECT REACHED'); direct.destroy(); via(); });
direct.on('error', (e) => { console.log('DIRECT BLOCKED ' + e.code); via(); });
direct.on('timeout', () => { console.log('DIRECT BLOCKED timeout'); direct.destroy(); via(); });
function via() {
  if (!process.env.HTTP_PROXY) { console.log('NO PROXY'); return; }
  const u = new URL(process.env.HTTP_PROXY);
  const s = net.connect({host: u.hostname, port: Number(u.port)}, () => s.write('GET http://' + host + ':' + port + '/ HTTP/1.1\r\nHost: ' + host + ':' + port + '\r\nConnection: close\r\n\r\n'));
  let out = ''; s.on('data', d => out += d);
  s.on('end', () => console.log('PROXY ' + out.split('\r\n')[0] + ' ' + (out.includes('hello-from-host') ? 'BODY' : 'NOBODY')));
  s.on('error', e => console.log('PROXY ERROR ' + e.code));
}`

// allowAll admits every connection (the tests here are about the way out, not the policy,
// which package egress tests).
type testProxy struct {
	mu      sync.Mutex
	allowed string // the one host:port it forwards to
	srv     *http.Server
	closed  bool
}

func (p *testProxy) Serve(l net.Listener) error {
	p.mu.Lock()
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host != p.allowed {
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		res, err := http.Get("http://" + r.URL.Host + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	})}
	srv := p.srv
	p.mu.Unlock()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (p *testProxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.srv != nil {
		return p.srv.Close()
	}
	return nil
}

func TestNetwork(t *testing.T) {
	haveBwrap(t)
	t.Parallel()
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello-from-host") }))
	defer host.Close()
	target := host.Listener.Addr().String()
	script := func(ws string) string {
		if err := os.WriteFile(filepath.Join(ws, "probe.js"), []byte(probeNet), 0o644); err != nil {
			t.Fatal(err)
		}
		return "node probe.js " + target
	}
	t.Run("no network", func(t *testing.T) {
		ws := workspace(t)
		_, err, c := run(t, context.Background(), ws, script(ws), Options{Mode: ModeBwrap})
		out := c.text("stdout")
		if err != nil || !strings.Contains(out, "DIRECT BLOCKED") || !strings.Contains(out, "NO PROXY") {
			t.Fatalf("the build reached the host or could not run: %v\n%s", err, c.text(""))
		}
	})
	for _, mode := range modes() {
		t.Run("proxy/"+mode, func(t *testing.T) {
			ws := workspace(t)
			proxy := &testProxy{allowed: target}
			_, err, c := run(t, context.Background(), ws, script(ws), Options{Mode: mode, Egress: proxy})
			out := c.text("stdout")
			if err != nil || !strings.Contains(out, "PROXY HTTP/1.1 200 OK BODY") {
				t.Fatalf("the build could not use the proxy: %v\n%s", err, c.text(""))
			}
			if mode == ModeBwrap && !strings.Contains(out, "DIRECT BLOCKED") {
				t.Fatalf("the build reached the host directly:\n%s", out)
			}
			proxy.mu.Lock()
			closed := proxy.closed
			proxy.mu.Unlock()
			if !closed {
				t.Error("Run did not close the egress proxy")
			}
		})
	}
}

func TestOnlyWorkspaceWritable(t *testing.T) {
	haveBwrap(t)
	t.Parallel()
	ws := workspace(t)
	outside := workspace(t) // reachable by the build user, and world-writable
	if err := os.Chmod(outside, 0o777); err != nil {
		t.Fatal(err)
	}
	hostTmp := fmt.Sprintf("/tmp/skydeploy-sandbox-outside-%d", os.Getpid())
	defer os.Remove(hostTmp)
	script := strings.Join([]string{
		"echo hi > out.txt",
		"mkdir -p dist && echo page > dist/index.html",
		"echo x > " + outside + "/pwned && echo WROTE-OUTSIDE",
		"echo x > " + hostTmp + " && echo tmp-is-private",
		"echo x > /usr/pwned && echo WROTE-USR",
		"echo x > /pwned && echo WROTE-ROOT",
		"echo x > /dev/pwned && echo WROTE-DEV",
		"echo x > $HOME/cache && echo home-ok",
		"test -e /root && echo SEES-ROOT",
		"test -e /work && echo SEES-WORK",
		"test -e " + filepath.Dir(ws) + " && echo SEES-HOST-PATH",
		"ls /etc/ssl >/dev/null && echo etc-ssl-ok",
		"id -u",
		"true",
	}, "; ")
	_, err, c := run(t, context.Background(), ws, script, Options{Mode: "bwrap"})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, c.text(""))
	}
	out := c.text("stdout")
	for _, bad := range []string{"WROTE-OUTSIDE", "WROTE-USR", "WROTE-ROOT", "WROTE-DEV", "SEES-ROOT", "SEES-WORK", "SEES-HOST-PATH"} {
		if strings.Contains(out, bad) {
			t.Errorf("sandbox escape: %s\n%s", bad, c.text(""))
		}
	}
	for _, good := range []string{"home-ok", "etc-ssl-ok", "tmp-is-private"} {
		if !strings.Contains(out, good) {
			t.Errorf("missing %s:\n%s", good, c.text(""))
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
		t.Errorf("file written outside the workspace")
	}
	if _, err := os.Stat(hostTmp); err == nil {
		t.Errorf("file written to the host's /tmp")
	}
	if os.Geteuid() == 0 {
		for _, f := range []string{"out.txt", "dist/index.html"} {
			fi, err := os.Stat(filepath.Join(ws, f))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid == 0 {
				t.Errorf("%s owned by root", f)
			}
		}
		if strings.Contains(out, "\n0\n") {
			t.Errorf("build ran as uid 0:\n%s", out)
		}
	}
}

func TestProcessLimit(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		for _, control := range controls(t) {
			t.Run(mode+"/"+control, func(t *testing.T) {
				t.Parallel()
				ws := workspace(t)
				_, err, c := run(t, context.Background(), ws, "i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done; wait",
					Options{Mode: mode, ResourceControl: control, Limits: Limits{MaxProcesses: 30, WallTime: 20 * time.Second}})
				wantLimit(t, err, LimitProcesses, c)
			})
		}
	}
}

func TestModeBwrapMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ws := workspace(t)
	for _, mode := range []string{"", ModeBwrap} {
		_, err := Run(context.Background(), ws, "true", Options{Mode: mode}, nil)
		if err == nil || !strings.Contains(err.Error(), "bubblewrap") || !strings.Contains(err.Error(), "SKYDEPLOY_SANDBOX=none") {
			t.Fatalf("mode %q: want an error naming bubblewrap and the way out, got %v", mode, err)
		}
	}
}

func TestModeNoneIsLoud(t *testing.T) {
	ws := workspace(t)
	res, err, c := run(t, context.Background(), ws, "true", Options{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.text("system"), "WITHOUT a sandbox") || !strings.Contains(res.Sandbox, "NO filesystem or network isolation") {
		t.Fatalf("mode none is not loud:\n%s\n%s", res.Sandbox, c.text("system"))
	}
}

func TestLineSplitting(t *testing.T) {
	long := strings.Repeat("é", 3000) // 6000 bytes
	in := "a\r\nb\n" + long + "\nbad\xff\xfeutf8\nlast"
	var got []string
	lineReader(strings.NewReader(in), func(int) bool { return true }, func(s string) { got = append(got, s) })
	if len(got) != 6 || got[0] != "a" || got[1] != "b" || got[4] != "bad\uFFFDutf8" || got[5] != "last" {
		t.Fatalf("lines: %q", got)
	}
	if got[2]+got[3] != long || len(got[2]) > maxLineBytes {
		t.Fatalf("long line split badly: %d + %d bytes", len(got[2]), len(got[3]))
	}
}

func TestSafeOutputWalk(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "dist")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(out, "assets"), 0o755))
	must(os.WriteFile(filepath.Join(out, "index.html"), []byte("hi"), 0o644))
	must(os.WriteFile(filepath.Join(out, "assets", "app.js"), []byte("js"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "secret"), []byte("secret"), 0o600))
	must(os.Symlink("assets/app.js", filepath.Join(out, "alias.js")))
	must(os.Symlink("assets", filepath.Join(out, "assets-link")))
	must(os.Symlink("missing", filepath.Join(out, "dangling")))
	must(syscall.Mkfifo(filepath.Join(out, "fifo"), 0o644))

	var got []string
	err := SafeOutputWalk(out, func(rel string, info fs.FileInfo) error {
		got = append(got, fmt.Sprintf("%s:%d", rel, info.Size()))
		return nil
	})
	must(err)
	want := "alias.js:2 assets/app.js:2 index.html:2"
	if strings.Join(got, " ") != want {
		t.Fatalf("walk = %q, want %q", strings.Join(got, " "), want)
	}

	for name, target := range map[string]string{
		"up":       "../secret",
		"abs":      "/etc/passwd",
		"deep":     "assets/../../secret",
		"chain":    "assets/up2",
		"abs-root": filepath.Join(dir, "secret"),
	} {
		t.Run(name, func(t *testing.T) {
			o := filepath.Join(t.TempDir(), "out")
			must(os.MkdirAll(filepath.Join(o, "assets"), 0o755))
			must(os.WriteFile(filepath.Join(filepath.Dir(o), "secret"), []byte("s"), 0o600))
			must(os.Symlink("../../secret", filepath.Join(o, "assets", "up2")))
			must(os.Symlink(target, filepath.Join(o, "link")))
			err := SafeOutputWalk(o, func(string, fs.FileInfo) error { return nil })
			var ue *UnsafePathError
			if !errors.As(err, &ue) {
				t.Fatalf("want UnsafePathError, got %v", err)
			}
			if ue.Path != "link" && ue.Path != "assets/up2" {
				t.Fatalf("path %q", ue.Path)
			}
		})
	}
}

func TestNodeAndNpmRun(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	t.Parallel()
	for _, mode := range modes() {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ws := workspace(t)
			// Production-like limits: node must start and npm must find its cache.
			_, err, c := run(t, context.Background(), ws, "node --version && npm --version && npm config get cache",
				Options{Mode: mode, Limits: Limits{MemoryBytes: 1 << 30, CPUSeconds: 60, MaxFileBytes: 100 << 20, MaxProcesses: 256, WallTime: 30 * time.Second}})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, c.text(""))
			}
			if !strings.Contains(c.text("stdout"), ".skydeploy/home/.npm") {
				t.Fatalf("npm cache not in the sandbox home:\n%s", c.text(""))
			}
		})
	}
}
