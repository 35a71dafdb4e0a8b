package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// plan is a prepared Run: who runs the build, where, with which isolation.
type plan struct {
	opts      Options
	mode      string
	workspace string // host path, absolute, links resolved
	homeDir   string // host paths
	tmpDir    string
	shmDir    string
	uid, gid  int
	userName  string
	cred      *syscall.Credential // nil: run as self
	bwrap     string              // bwrap binary, "" for mode none
	initBin   string              // this program, reachable by the build user (bwrap with egress)
	readOnly  []string
	nodeBin   string
	token     string
	proxyURL  string // the build's HTTP(S)_PROXY, "" without egress
}

// modeOf validates Options.Mode.
func modeOf(o Options) (string, error) {
	switch o.Mode {
	case "", ModeBwrap:
		return ModeBwrap, nil
	case ModeNone:
		return ModeNone, nil
	}
	return "", fmt.Errorf("sandbox: mode must be %q or %q, not %q", ModeBwrap, ModeNone, o.Mode)
}

func prepare(workspace string, opts Options) (*plan, error) {
	p := &plan{opts: opts}
	var err error
	if p.mode, err = modeOf(opts); err != nil {
		return nil, err
	}
	ws, err := filepath.Abs(workspace)
	if err == nil {
		ws, err = filepath.EvalSymlinks(ws)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: workspace: %w", err)
	}
	if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sandbox: workspace %s is not a directory", ws)
	}
	p.workspace = ws
	if err := p.setUser(opts.User); err != nil {
		return nil, err
	}
	if err := p.makeWritableArea(); err != nil {
		return nil, err
	}
	if err := p.addReadOnly(opts.ExtraReadOnly); err != nil {
		return nil, err
	}
	if p.mode == ModeBwrap {
		bw, err := findBwrap()
		if err == nil {
			err = probeBwrap(bw, p.cred)
		}
		if err != nil {
			return nil, err
		}
		p.bwrap = bw
		if opts.Egress != nil && !opts.HostNetwork {
			if p.initBin, err = initBinary(p.uid, p.gid); err != nil {
				return nil, err
			}
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	p.token = hex.EncodeToString(b[:])
	return p, nil
}

// setUser decides who runs the build: the unprivileged build user when the worker is root,
// else the worker's own user.
func (p *plan) setUser(name string) error {
	if os.Geteuid() != 0 {
		p.uid, p.gid = os.Getuid(), os.Getgid()
		if u, err := user.Current(); err == nil {
			p.userName = u.Username
		}
		return nil
	}
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return fmt.Errorf("sandbox: build user %q: %w", name, err)
	}
	p.uid, _ = strconv.Atoi(u.Uid)
	p.gid, _ = strconv.Atoi(u.Gid)
	p.userName = u.Username
	if p.uid == 0 {
		return fmt.Errorf("sandbox: refusing to run builds as root (build user %q)", name)
	}
	p.cred = &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.gid), Groups: []uint32{}}
	if ok, dir := reachable(p.workspace, p.uid, p.gid); !ok {
		return fmt.Errorf("sandbox: build user %s (uid %d) cannot reach the workspace: %s is not searchable by it", name, p.uid, dir)
	}
	return nil
}

// makeWritableArea creates HOME, TMPDIR and /dev/shm inside the workspace, so that the
// workspace size limit covers everything a build can write, and gives the workspace to the
// build user.
func (p *plan) makeWritableArea() error {
	root, err := os.OpenRoot(p.workspace)
	if err != nil {
		return fmt.Errorf("sandbox: workspace: %w", err)
	}
	defer root.Close()
	if fi, err := root.Lstat(stateDir); err == nil && !fi.IsDir() {
		if err := root.Remove(stateDir); err != nil {
			return fmt.Errorf("sandbox: removing %s: %w", stateDir, err)
		}
	}
	for _, d := range []string{homeRel, tmpRel, shmRel} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("sandbox: creating %s: %w", d, err)
		}
		if fi, err := root.Lstat(d); err != nil || !fi.IsDir() {
			return fmt.Errorf("sandbox: %s in the workspace is not a directory", d)
		}
	}
	p.homeDir = filepath.Join(p.workspace, homeRel)
	p.tmpDir = filepath.Join(p.workspace, tmpRel)
	p.shmDir = filepath.Join(p.workspace, shmRel)
	if p.cred != nil {
		return chownTree(p.workspace, p.uid, p.gid)
	}
	return nil
}

// addReadOnly adds node's install directory and the caller's extra paths to what the sandbox
// sees read-only.
func (p *plan) addReadOnly(extra []string) error {
	binDir, nodeInstall := nodeDirs()
	p.nodeBin = binDir
	p.readOnly = append(p.readOnly, nodeInstall...)
	for _, d := range extra {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("sandbox: read-only path %q is not absolute", d)
		}
		if _, err := os.Stat(d); err != nil {
			return fmt.Errorf("sandbox: read-only path: %w", err)
		}
		p.readOnly = append(p.readOnly, filepath.Clean(d))
	}
	if p.cred != nil {
		for _, d := range p.readOnly {
			if ok, dir := reachable(filepath.Join(d, "x"), p.uid, p.gid); !ok {
				return fmt.Errorf("sandbox: build user (uid %d) cannot reach %s: %s is not searchable by it", p.uid, d, dir)
			}
		}
	}
	return nil
}

// describe says in one line what isolation the build gets.
func (p *plan) describe() string {
	if p.bwrap == "" {
		return fmt.Sprintf("none: plain process as uid %d with resource limits only, NO filesystem or network isolation (SKYDEPLOY_SANDBOX=none)", p.uid)
	}
	net := "no network (empty network namespace)"
	switch {
	case p.opts.HostNetwork:
		net = "host network (unrestricted, for measurements only)"
	case p.opts.Egress != nil:
		net = "own network namespace whose only way out is the egress proxy"
	}
	return fmt.Sprintf("bubblewrap: uid %d in a user namespace; own pid, ipc, uts and cgroup namespaces; %s; read-only system directories; only the workspace writable", p.uid, net)
}

// In-sandbox paths and the proxy's in-sandbox address.
const (
	sandboxWorkspace = "/workspace"
	sandboxTmp       = "/tmp"
	sandboxRunDir    = "/run/skydeploy"
	sandboxInitPath  = sandboxRunDir + "/init"
	sandboxNetDir    = sandboxRunDir + "/net"
	egressSocketName = "egress.sock"
	sandboxProxyAddr = "127.0.0.1:3128"
)

// noProxy lists the in-sandbox addresses that never go through the proxy (a build's own test
// servers on its own loopback).
const noProxy = "localhost,127.0.0.1,::1"

// env builds the clean environment of the build.
func (p *plan) env() []string {
	homeIn, tmpIn := p.homeDir, p.tmpDir
	if p.bwrap != "" {
		homeIn, tmpIn = sandboxWorkspace+"/"+homeRel, sandboxTmp
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if p.nodeBin != "" && !strings.Contains(":"+path+":", ":"+p.nodeBin+":") {
		path = p.nodeBin + ":" + path
	}
	rel := func(dir string) string { return homeIn + strings.TrimPrefix(dir, HomeDir) }
	m := map[string]string{
		"PATH":                       path,
		"HOME":                       homeIn,
		"TMPDIR":                     tmpIn,
		"LANG":                       "C.UTF-8",
		"CI":                         "1",
		"USER":                       p.userName,
		"LOGNAME":                    p.userName,
		"XDG_CACHE_HOME":             homeIn + "/.cache",
		"XDG_CONFIG_HOME":            homeIn + "/.config",
		"XDG_DATA_HOME":              homeIn + "/.local/share",
		"npm_config_cache":           rel(NpmCacheDir),
		"npm_config_update_notifier": "false",
		"YARN_CACHE_FOLDER":          rel(YarnCacheDir),
		"COREPACK_HOME":              rel(CorepackHomeDir),
	}
	if p.userName == "" {
		delete(m, "USER")
		delete(m, "LOGNAME")
	}
	if systemCABundle != "" {
		// Node trusts only its bundled roots unless told otherwise; builds trust what the
		// worker's system trusts (a company's TLS-inspecting proxy, a private registry's CA),
		// as git and curl in the sandbox already do.
		m["NODE_EXTRA_CA_CERTS"] = systemCABundle
	}
	if p.proxyURL != "" {
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
			"npm_config_proxy", "npm_config_https_proxy", "YARN_HTTP_PROXY", "YARN_HTTPS_PROXY"} {
			m[k] = p.proxyURL
		}
		m["NO_PROXY"], m["no_proxy"] = noProxy, noProxy
	}
	for k, v := range p.opts.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			continue
		}
		m[k] = v
	}
	m[markerVar] = p.token
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// systemCABundle is the system's CA bundle (bound read-only into the sandbox with /etc/ssl),
// or "" when this system has none at the usual Debian/Ubuntu/Alpine path.
var systemCABundle = func() string {
	const p = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}()

// PlatformEnvNames lists the variables the sandbox itself sets in every build (besides the
// project's own), so that a check can tell a warning the platform caused from one the project
// caused.
func PlatformEnvNames() []string {
	p := &plan{userName: "x", proxyURL: "x"}
	if systemCABundle == "" {
		defer func() { systemCABundle = "" }()
		systemCABundle = "x"
	}
	var names []string
	for _, kv := range p.env() {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	return names
}

// inner is the command line run in the sandbox: [prlimit ...] /bin/sh -c command.
func (p *plan) inner(command string, rc resourceControl) ([]string, error) {
	inner := []string{"/bin/sh", "-c", command}
	l := p.opts.Limits
	lim := []string{"--core=0"}
	if l.MaxFileBytes > 0 {
		lim = append(lim, "--fsize="+strconv.FormatInt(l.MaxFileBytes, 10))
	}
	if !rc.countsProcesses() && l.MaxProcesses > 0 {
		// Without a pids cgroup the watchdog counts the build's processes; RLIMIT_NPROC (per
		// uid) stops a fork bomb between two samples.
		lim = append(lim, "--nproc="+strconv.Itoa(l.MaxProcesses))
	}
	if !rc.countsCPU() && l.CPUSeconds > 0 {
		// Without a cgroup the watchdog sums the CPU time of the processes it sees; RLIMIT_CPU
		// (SIGXCPU, SIGKILL 5 s later) bounds each one in between.
		lim = append(lim, fmt.Sprintf("--cpu=%d:%d", l.CPUSeconds, l.CPUSeconds+5))
	}
	pl, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, fmt.Errorf("sandbox: prlimit (util-linux) is needed to apply limits: %w", err)
	}
	return append(append(append([]string{pl}, lim...), "--"), inner...), nil
}
