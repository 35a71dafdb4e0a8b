package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits bounds one Run. A zero field means "no limit".
type Limits struct {
	WallTime          time.Duration // whole command, enforced with a timer
	MemoryBytes       int64         // RLIMIT_AS of every build process
	CPUSeconds        int64         // RLIMIT_CPU of every build process
	MaxOutputBytes    int64         // bytes printed on stdout+stderr together
	MaxFiles          int           // non-directory entries in the whole workspace
	MaxFileBytes      int64         // RLIMIT_FSIZE, and the largest file in the workspace
	MaxWorkspaceBytes int64         // disk usage of the whole workspace
	MaxProcesses      int           // RLIMIT_NPROC (counted per uid, see package doc)
}

// Options says how to run a build command.
type Options struct {
	// Mode is "auto" (default), "bwrap" or "none".
	Mode string
	// User is the unprivileged user builds run as when the worker runs as
	// root (default "nobody"). Ignored when not root: builds run as self.
	User string
	// Network allows network access (the install step); without it the
	// build gets an empty network namespace (bwrap mode only).
	Network bool
	// Env is the project's build environment, added to the clean base.
	Env map[string]string
	// ExtraReadOnly lists absolute host paths made visible read-only in the
	// sandbox at the same path (node's install directory is found and added
	// automatically).
	ExtraReadOnly []string
	Limits        Limits
}

// Line is one line of build output.
type Line struct {
	Stream string // "stdout", "stderr" or "system"
	Text   string
	Time   time.Time
}

// Result describes a finished Run; it is filled in as far as possible even
// when Run returns an error.
type Result struct {
	ExitCode    int
	Duration    time.Duration
	OutputBytes int64
	Sandbox     string // the isolation actually used, human-readable
}

// Layout of the sandbox's writable area inside the workspace.
const (
	stateDir = ".skydeploy"
	homeRel  = stateDir + "/home"
	tmpRel   = stateDir + "/tmp"
	shmRel   = stateDir + "/shm"
)

// HomeDir is HOME of builds relative to the workspace (npm, yarn, pnpm and
// corepack caches live below it, see the package documentation).
const HomeDir = homeRel

// killGrace is how long the build gets between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// plan is a prepared Run.
type plan struct {
	opts      Options
	workspace string // host path, absolute, links resolved
	homeDir   string // host paths
	tmpDir    string
	shmDir    string
	uid, gid  int
	userName  string
	cred      *syscall.Credential // nil: run as self
	bwrap     string              // bwrap binary, "" for mode none
	readOnly  []string
	nodeBin   string
	token     string
	desc      string
}

func prepare(workspace string, opts Options) (*plan, error) {
	p := &plan{opts: opts}
	mode := opts.Mode
	if mode == "" {
		mode = "auto"
	}
	if mode != "auto" && mode != "bwrap" && mode != "none" {
		return nil, fmt.Errorf("sandbox: mode must be auto, bwrap or none, not %q", opts.Mode)
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

	// Who runs the build.
	if os.Geteuid() == 0 {
		name := opts.User
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
			return nil, fmt.Errorf("sandbox: build user %q: %w", name, err)
		}
		p.uid, _ = strconv.Atoi(u.Uid)
		p.gid, _ = strconv.Atoi(u.Gid)
		p.userName = u.Username
		if p.uid == 0 {
			return nil, fmt.Errorf("sandbox: refusing to run builds as root (build user %q)", name)
		}
		p.cred = &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.gid), Groups: []uint32{}}
		if ok, dir := reachable(ws, p.uid, p.gid); !ok {
			return nil, fmt.Errorf("sandbox: build user %s (uid %d) cannot reach the workspace: %s is not searchable by it", name, p.uid, dir)
		}
	} else {
		p.uid, p.gid = os.Getuid(), os.Getgid()
		if u, err := user.Current(); err == nil {
			p.userName = u.Username
		}
	}

	// The writable area: HOME, TMPDIR and /dev/shm inside the workspace, so
	// that the workspace size limit covers everything a build can write.
	root, err := os.OpenRoot(ws)
	if err != nil {
		return nil, fmt.Errorf("sandbox: workspace: %w", err)
	}
	defer root.Close()
	if fi, err := root.Lstat(stateDir); err == nil && !fi.IsDir() {
		if err := root.Remove(stateDir); err != nil {
			return nil, fmt.Errorf("sandbox: removing %s: %w", stateDir, err)
		}
	}
	for _, d := range []string{homeRel, tmpRel, shmRel} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("sandbox: creating %s: %w", d, err)
		}
		if fi, err := root.Lstat(d); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("sandbox: %s in the workspace is not a directory", d)
		}
	}
	p.homeDir = filepath.Join(ws, homeRel)
	p.tmpDir = filepath.Join(ws, tmpRel)
	p.shmDir = filepath.Join(ws, shmRel)
	if p.cred != nil {
		if err := chownTree(ws, p.uid, p.gid); err != nil {
			return nil, err
		}
	}

	// Read-only extras.
	binDir, nodeInstall := nodeDirs()
	p.nodeBin = binDir
	p.readOnly = append(p.readOnly, nodeInstall...)
	for _, d := range opts.ExtraReadOnly {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("sandbox: read-only path %q is not absolute", d)
		}
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("sandbox: read-only path: %w", err)
		}
		p.readOnly = append(p.readOnly, filepath.Clean(d))
	}
	if p.cred != nil {
		for _, d := range p.readOnly {
			if ok, dir := reachable(filepath.Join(d, "x"), p.uid, p.gid); !ok {
				return nil, fmt.Errorf("sandbox: build user (uid %d) cannot reach %s: %s is not searchable by it", p.uid, d, dir)
			}
		}
	}

	// Which isolation.
	if mode != "none" {
		bw, lerr := exec.LookPath("bwrap")
		if lerr == nil {
			lerr = probeBwrap(bw, p.cred, opts.Network)
		}
		switch {
		case lerr == nil:
			p.bwrap = bw
		case mode == "bwrap":
			return nil, fmt.Errorf("sandbox: mode bwrap requested but bubblewrap is unusable: %w", lerr)
		}
	}
	if p.bwrap != "" {
		net := "no network (empty network namespace)"
		if opts.Network {
			net = "host network"
		}
		p.desc = fmt.Sprintf("bubblewrap: uid %d in a user namespace; own pid, ipc, uts and cgroup namespaces; %s; read-only system directories; only the workspace writable", p.uid, net)
	} else {
		p.desc = fmt.Sprintf("none: plain process as uid %d with resource limits only (no filesystem or network isolation)", p.uid)
	}

	var b [12]byte
	_, _ = rand.Read(b[:])
	p.token = hex.EncodeToString(b[:])
	return p, nil
}

// env builds the clean environment of the build.
func (p *plan) env() []string {
	wsIn, homeIn, tmpIn := p.workspace, p.homeDir, p.tmpDir
	if p.bwrap != "" {
		wsIn, homeIn, tmpIn = sandboxWorkspace, sandboxWorkspace+"/"+homeRel, sandboxTmp
	}
	_ = wsIn
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if p.nodeBin != "" && !strings.Contains(":"+path+":", ":"+p.nodeBin+":") {
		path = p.nodeBin + ":" + path
	}
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
		"npm_config_cache":           homeIn + "/.npm",
		"npm_config_update_notifier": "false",
		"npm_config_store_dir":       homeIn + "/.pnpm-store",
		"YARN_CACHE_FOLDER":          homeIn + "/.yarn-cache",
		"COREPACK_HOME":              homeIn + "/.cache/node/corepack",
	}
	if p.userName == "" {
		delete(m, "USER")
		delete(m, "LOGNAME")
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

// argv is the full command line: [bwrap ...] [prlimit ...] /bin/sh -c command.
func (p *plan) argv(command string) ([]string, error) {
	inner := []string{"/bin/sh", "-c", command}
	l := p.opts.Limits
	if l.MemoryBytes > 0 || l.CPUSeconds > 0 || l.MaxFileBytes > 0 || l.MaxProcesses > 0 {
		pl, err := exec.LookPath("prlimit")
		if err != nil {
			return nil, fmt.Errorf("sandbox: prlimit (util-linux) is needed to apply limits: %w", err)
		}
		lim := []string{pl, "--core=0"}
		if l.MemoryBytes > 0 {
			lim = append(lim, "--as="+strconv.FormatInt(l.MemoryBytes, 10))
		}
		if l.CPUSeconds > 0 {
			// SIGXCPU at the soft limit, SIGKILL 5 s of CPU later.
			lim = append(lim, fmt.Sprintf("--cpu=%d:%d", l.CPUSeconds, l.CPUSeconds+5))
		}
		if l.MaxFileBytes > 0 {
			lim = append(lim, "--fsize="+strconv.FormatInt(l.MaxFileBytes, 10))
		}
		if l.MaxProcesses > 0 {
			lim = append(lim, "--nproc="+strconv.Itoa(l.MaxProcesses))
		}
		inner = append(append(lim, "--"), inner...)
	}
	if p.bwrap == "" {
		return inner, nil
	}
	return append([]string{p.bwrap}, bwrapArgs(p, inner)...), nil
}

// Run runs command with /bin/sh -c in workspace under the sandbox described by
// opts, streaming its output line by line to onLine (which may be nil; calls
// are never concurrent). It returns a *LimitError when a limit stopped or
// broke the build, an *ExitError when the command failed on its own, and the
// context's error (wrapped) when ctx ended first. When Run returns, no process
// of the build is left (see the package documentation for what is guaranteed
// in each mode).
func Run(ctx context.Context, workspace string, command string, opts Options, onLine func(Line)) (Result, error) {
	start := time.Now()
	var res Result
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("build cancelled: %w", err)
	}
	p, err := prepare(workspace, opts)
	if err != nil {
		return res, err
	}
	res.Sandbox = p.desc
	argv, err := p.argv(command)
	if err != nil {
		return res, err
	}
	l := opts.Limits

	var emitMu sync.Mutex
	var sawMemory, sawFsize, sawNproc bool
	emit := func(ln Line) {
		emitMu.Lock()
		defer emitMu.Unlock()
		if ln.Stream != "system" {
			low := strings.ToLower(ln.Text)
			if l.MemoryBytes > 0 && !sawMemory && memoryMarker(low) {
				sawMemory = true
			}
			if l.MaxFileBytes > 0 && !sawFsize && (strings.Contains(low, "file too large") || strings.Contains(low, "file size limit exceeded")) {
				sawFsize = true
			}
			if l.MaxProcesses > 0 && !sawNproc && (strings.Contains(low, "cannot fork") ||
				((strings.Contains(low, "fork") || strings.Contains(low, "spawn")) &&
					(strings.Contains(low, "resource temporarily unavailable") || strings.Contains(low, "eagain")))) {
				sawNproc = true
			}
		}
		if onLine != nil {
			onLine(ln)
		}
	}
	emit(newLine("system", "Sandbox: "+p.desc))

	outR, outW, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("sandbox: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return res, fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.workspace
	cmd.Env = p.env()
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: p.cred,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return res, fmt.Errorf("sandbox: starting build: %w", err)
	}
	outW.Close()
	errW.Close()
	pgid := cmd.Process.Pid

	// Stopping: the first reason wins.
	var (
		stopOnce sync.Once
		stopMu   sync.Mutex
		stopErr  error
		exited   = make(chan struct{})
	)
	stop := func(reason error) {
		stopOnce.Do(func() {
			stopMu.Lock()
			stopErr = reason
			stopMu.Unlock()
			var le *LimitError
			if errors.As(reason, &le) {
				emit(newLine("system", "Stopping build: "+le.Error()))
			} else {
				emit(newLine("system", "Stopping build: "+reason.Error()))
			}
			killGroup(pgid, syscall.SIGTERM)
			killMarked(p.token, syscall.SIGTERM)
			go func() {
				select {
				case <-exited:
				case <-time.After(killGrace):
				}
				killGroup(pgid, syscall.SIGKILL)
				killMarked(p.token, syscall.SIGKILL)
			}()
		})
	}

	// Output.
	var outBytes atomic.Int64
	count := func(n int) bool {
		total := outBytes.Add(int64(n))
		if l.MaxOutputBytes > 0 && total > l.MaxOutputBytes {
			stop(limitErr(LimitOutput, humanBytes(l.MaxOutputBytes)))
			return false
		}
		return true
	}
	var readers sync.WaitGroup
	for _, s := range []struct {
		name string
		r    *os.File
	}{{"stdout", outR}, {"stderr", errR}} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			lineReader(s.r, count, func(text string) { emit(newLine(s.name, text)) })
		}()
	}

	// Watchers: context, wall time, workspace usage.
	watchDone := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		var wall <-chan time.Time
		if l.WallTime > 0 {
			t := time.NewTimer(l.WallTime)
			defer t.Stop()
			wall = t.C
		}
		var tick <-chan time.Time
		if l.MaxWorkspaceBytes > 0 || l.MaxFiles > 0 || l.MaxFileBytes > 0 {
			tk := time.NewTicker(2 * time.Second)
			defer tk.Stop()
			tick = tk.C
		}
		for {
			select {
			case <-watchDone:
				return
			case <-ctx.Done():
				stop(fmt.Errorf("build cancelled: %w", ctx.Err()))
				return
			case <-wall:
				stop(limitErr(LimitWallTime, l.WallTime.String()))
				return
			case <-tick:
				mctx, cancel := context.WithCancel(ctx)
				go func() {
					select {
					case <-watchDone:
					case <-mctx.Done():
					}
					cancel()
				}()
				u := measure(mctx, p.workspace, l)
				cancel()
				if le := u.check(l); le != nil {
					stop(le)
					return
				}
			}
		}
	}()

	waitErr := cmd.Wait()
	close(exited)
	close(watchDone)
	watchers.Wait()

	// Nothing of the build may outlive Run. Under bubblewrap the pid namespace
	// is gone with its init; otherwise kill the group and marked strays.
	killGroup(pgid, syscall.SIGKILL)
	for i := 0; i < 50 && killMarked(p.token, syscall.SIGKILL) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	readDone := make(chan struct{})
	go func() { readers.Wait(); close(readDone) }()
	select {
	case <-readDone:
	case <-time.After(killGrace):
		outR.Close()
		errR.Close()
		<-readDone
	}
	outR.Close()
	errR.Close()
	cleanupTmp(p.workspace)

	res.Duration = time.Since(start)
	res.OutputBytes = outBytes.Load()
	res.ExitCode = -1
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if st, ok := ps.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			res.ExitCode = 128 + int(st.Signal())
		}
	}

	stopMu.Lock()
	serr := stopErr
	stopMu.Unlock()
	if serr != nil {
		return res, serr
	}
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return res, fmt.Errorf("sandbox: waiting for build: %w", waitErr)
		}
	}
	// Files written by the build.
	if le := measure(context.Background(), p.workspace, l).check(l); le != nil {
		emit(newLine("system", "Build failed: "+le.Error()))
		return res, le
	}
	emitMu.Lock()
	mem, fsz, npr := sawMemory, sawFsize, sawNproc
	emitMu.Unlock()
	// A process killed by SIGXFSZ left a truncated file behind, even when the
	// script carried on and exited 0.
	if res.ExitCode == 0 && !fsz {
		return res, nil
	}
	sig := syscall.Signal(0)
	if res.ExitCode > 128 && res.ExitCode < 128+65 {
		sig = syscall.Signal(res.ExitCode - 128)
	}
	var le *LimitError
	switch {
	case l.MaxFileBytes > 0 && (sig == syscall.SIGXFSZ || fsz):
		le = limitErr(LimitFileSize, humanBytes(l.MaxFileBytes))
	case l.CPUSeconds > 0 && sig == syscall.SIGXCPU:
		le = limitErr(LimitCPU, fmt.Sprintf("%ds", l.CPUSeconds))
	case mem:
		le = limitErr(LimitMemory, humanBytes(l.MemoryBytes))
	case npr:
		le = limitErr(LimitProcesses, strconv.Itoa(l.MaxProcesses))
	}
	if le != nil {
		emit(newLine("system", "Build failed: "+le.Error()))
		return res, le
	}
	ee := &ExitError{Code: res.ExitCode}
	if sig != 0 {
		ee.Signal = unixSignalName(sig)
	}
	return res, ee
}

func memoryMarker(low string) bool {
	for _, m := range []string{
		"memoryerror", "cannot allocate memory", "out of memory", "process oom",
		"bad_alloc", "enomem", "failed to reserve virtual memory", "allocation failed",
	} {
		if strings.Contains(low, m) {
			return true
		}
	}
	return false
}

func unixSignalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGXCPU:
		return "SIGXCPU"
	case syscall.SIGXFSZ:
		return "SIGXFSZ"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGTRAP:
		return "SIGTRAP"
	}
	return s.String()
}

// cleanupTmp empties the build's TMPDIR and /dev/shm after a Run. It goes
// through os.Root so that links planted by the build cannot redirect it.
func cleanupTmp(ws string) {
	root, err := os.OpenRoot(ws)
	if err != nil {
		return
	}
	defer root.Close()
	for _, d := range []string{tmpRel, shmRel} {
		_ = root.RemoveAll(d)
	}
}
