package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
)

// buildRepo is a Node project without dependencies whose build runs script.
func buildRepo(script string) map[string]string {
	pkg := fmt.Sprintf(`{"name":"hostile","version":"1.0.0","private":true,"scripts":{"build":%q}}`, script)
	return map[string]string{
		"package.json":      pkg,
		"package-lock.json": `{"name":"hostile","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"hostile","version":"1.0.0"}}}`,
		"probe.js":          probeJS,
	}
}

// probeJS tries to connect to each host:port given on the command line and prints what happened.
const probeJS = `const net = require('net');
let left = process.argv.length - 2;
for (const target of process.argv.slice(2)) {
  const [host, port] = target.split(':');
  const s = net.connect({host, port: Number(port), timeout: 2000});
  const done = (what) => { console.log('PROBE ' + target + ' ' + what); s.destroy(); if (--left === 0) process.exit(0); };
  s.on('connect', () => done('REACHED'));
  s.on('timeout', () => done('BLOCKED timeout'));
  s.on('error', (e) => done('BLOCKED ' + e.code));
}
`

func hostPortOf(t testing.TB, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestHostileBuilds runs builds written to hurt the platform; each fails cleanly with a message
// naming the limit, or is neutralised.
func TestHostileBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("abuse test")
	}
	e := startEnv(t, func(c *config.Config) {
		c.BuildTimeout = 40 * time.Second
		c.BuildMaxLogBytes = 1 << 20
		c.BuildMaxDiskBytes = 300 << 20
	})

	t.Run("forks processes that outlive the build", func(t *testing.T) {
		repo := e.git.NewRepo(t, "forker", buildRepo("(sleep 313 &) ; setsid sleep 314 & nohup sleep 315 >/dev/null 2>&1 & mkdir -p dist && echo ok > dist/index.html"))
		d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, 3*time.Minute)
		if d.State != "succeeded" {
			t.Fatalf("%s: %s", d.State, d.Error)
		}
		time.Sleep(time.Second)
		for _, p := range []string{"sleep 313", "sleep 314", "sleep 315"} {
			if n := processesRunning(p); n != 0 {
				t.Errorf("%q survived the build (%d processes)", p, n)
			}
		}
		tallyHostile(t, "build forks background processes")
	})

	t.Run("prints endless output", func(t *testing.T) {
		repo := e.git.NewRepo(t, "chatty", buildRepo("yes 'all work and no play makes a noisy build'"))
		begin := time.Now()
		d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, 3*time.Minute)
		if d.State != "failed" || !strings.Contains(d.Error, "output") {
			t.Fatalf("%s: %q, want a failure naming the output limit", d.State, d.Error)
		}
		t.Logf("stopped after %s: %s", time.Since(begin).Round(time.Second), d.Error)
		tallyHostile(t, "build prints endless output")
	})

	t.Run("fills the disk", func(t *testing.T) {
		repo := e.git.NewRepo(t, "disk-filler", buildRepo("mkdir -p dist; i=0; while true; do head -c 50000000 /dev/zero > dist/fill$i; i=$((i+1)); done"))
		d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, 3*time.Minute)
		if d.State != "failed" || !strings.Contains(d.Error, "limit") {
			t.Fatalf("%s: %q, want a failure naming a limit", d.State, d.Error)
		}
		t.Logf("disk filler: %s", d.Error)
		tallyHostile(t, "build fills the disk")
	})

	t.Run("never ends", func(t *testing.T) {
		repo := e.git.NewRepo(t, "forever", buildRepo("sleep 100000"))
		begin := time.Now()
		d := e.wait(e.deploy(map[string]any{"repoUrl": repo.URL}).ID, 3*time.Minute)
		if d.State != "failed" || !strings.Contains(d.Error, "wall time") {
			t.Fatalf("%s: %q, want a failure naming the wall time limit", d.State, d.Error)
		}
		if took := time.Since(begin); took > 2*time.Minute {
			t.Errorf("a 40s limit took %s to stop the build", took)
		}
		tallyHostile(t, "build never ends")
	})

}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBuildMemoryLimitCountsTheWholeBuild: twelve small processes of 48 MiB each, every one
// far below the limit, are stopped together at a 256 MiB limit, with the cgroup and with the
// watchdog; the message names the setting and the log says which mechanism held the build.
func TestBuildMemoryLimitCountsTheWholeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("abuse test")
	}
	hog := `node -e 'const b = Buffer.alloc(48 << 20, 1); setTimeout(() => console.log(b.length), 60000)'`
	script := strings.Repeat(hog+" & ", 12) + "wait; mkdir -p dist; echo done > dist/index.html"
	for _, cgroups := range []string{"auto", "off"} {
		t.Run("cgroups "+cgroups, func(t *testing.T) {
			e := startEnv(t, func(c *config.Config) {
				c.BuildMemoryBytes = 256 << 20
				c.BuildCgroups = cgroups
				c.BuildTimeout = 2 * time.Minute
			})
			repo := e.git.NewRepo(t, "memory-hog", buildRepo(script))
			id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
			d := e.wait(id, 3*time.Minute)
			if d.State != "failed" || !strings.Contains(d.Error, "memory limit of 256 MiB (SKYDEPLOY_BUILD_MEMORY_BYTES)") {
				t.Fatalf("%s: %q, want a failure naming the memory limit", d.State, d.Error)
			}
			log := logText(e.readLog(id, "", 30*time.Second))
			mechanism := "Limits: cgroup"
			if cgroups == "off" {
				mechanism = "Limits: watchdog"
			}
			if !strings.Contains(log, mechanism) || !strings.Contains(log, "peak memory") {
				t.Errorf("the log does not say %q or the peak memory:\n%s", mechanism, log)
			}
			if n := processesRunning("Buffer.alloc(48"); n != 0 {
				t.Errorf("%d memory hogs survived the build", n)
			}
		})
	}
	tallyHostile(t, "build allocates past the memory limit in many small processes (cgroup)", "build allocates past the memory limit in many small processes (watchdog)")
}
