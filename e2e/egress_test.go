package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/config"
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
	hostileRejected("install script connects to Redis, Temporal, S3, the gateway, the request handler and its admin port",
		"build script connects to Redis, Temporal, S3, the gateway, the request handler and its admin port",
		"build reaches a private address", "build reaches cloud metadata (link-local)", "build resolves a name to loopback",
		"build reaches a host outside the egress allow-list")
}
