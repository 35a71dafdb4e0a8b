package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skydeploy/skydeploy/internal/bytesize"
)

// Run runs command with /bin/sh -c in workspace under the sandbox described by opts,
// streaming its output line by line to onLine (which may be nil; calls are never concurrent).
// It returns a *LimitError when a limit stopped or broke the build, an *ExitError when the
// command failed on its own, and the context's error (wrapped) when ctx ended first. When Run
// returns, no process of the build is left and opts.Egress is closed (see the package
// documentation for what is guaranteed in each mode).
func Run(ctx context.Context, workspace string, command string, opts Options, onLine func(Line)) (Result, error) {
	r := &runner{start: time.Now(), opts: opts, l: opts.Limits, onLine: onLine, exited: make(chan struct{})}
	if opts.Egress != nil {
		defer opts.Egress.Close()
	}
	if err := ctx.Err(); err != nil {
		return r.res, fmt.Errorf("build cancelled: %w", err)
	}
	p, err := prepare(workspace, opts)
	if err != nil {
		return r.res, err
	}
	r.p = p
	r.res.Sandbox = p.describe()
	return r.run(ctx, command)
}

// runner is one Run in progress.
type runner struct {
	start  time.Time
	opts   Options
	l      Limits
	p      *plan
	onLine func(Line)
	res    Result

	rc  resourceControl
	net *network
	cmd *exec.Cmd

	emitMu   sync.Mutex
	sawFsize bool
	sawNproc bool

	outBytes atomic.Int64
	readers  sync.WaitGroup
	outR     *os.File
	errR     *os.File

	stopOnce sync.Once
	stopMu   sync.Mutex
	stopErr  error
	exited   chan struct{}

	peakMu sync.Mutex
	peak   int64
	cpu    time.Duration
	last   usageSample
}

func (r *runner) run(ctx context.Context, command string) (Result, error) {
	var why string
	r.rc, why = newResourceControl(r.opts.ResourceControl, r.l, r.p.uid, r.p.bwrap == "", r.p.token)
	defer r.rc.close()
	r.res.ResourceControl = r.rc.name()
	r.emit(newLine("system", "Sandbox: "+r.p.describe()))
	if r.p.bwrap == "" {
		r.emit(newLine("system", "WARNING: this build runs WITHOUT a sandbox (SKYDEPLOY_SANDBOX=none): it can read the worker's files and reach its network"))
	}
	limits := "Limits: " + r.rc.describe(r.l)
	if why != "" {
		limits += "; " + why
	}
	r.emit(newLine("system", limits))

	var err error
	if r.net, err = startNetwork(r.p); err != nil {
		return r.res, err
	}
	defer r.net.close()

	if err := r.startProcess(command); err != nil {
		return r.res, err
	}
	watchDone := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Add(1)
	go func() { defer watchers.Done(); r.watch(ctx, watchDone) }()

	waitErr := r.cmd.Wait()
	close(r.exited)
	close(watchDone)
	watchers.Wait()
	r.record(r.rc.sample())
	r.finish()
	return r.res, r.verdict(waitErr)
}

// startProcess starts the build's first process and puts it under resource control before it
// runs any build code.
func (r *runner) startProcess(command string) error {
	inner, err := r.p.inner(command, r.rc)
	if err != nil {
		return err
	}
	argv := inner
	if r.p.bwrap != "" {
		argv = append([]string{r.p.bwrap}, bwrapArgs(r.p, inner, r.net.socketDir)...)
	}
	// The first process is a shell that waits on fd 3 until the worker has put it in the
	// build's cgroup, then becomes bubblewrap (or the command).
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer gateR.Close()
	defer gateW.Close()
	argv = append([]string{"/bin/sh", "-c", `read go <&3 && exec "$@" 3<&-`, "sh"}, argv...)

	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = r.p.workspace
	cmd.Env = r.p.env()
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{gateR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: r.p.cred, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fmt.Errorf("sandbox: starting build: %w", err)
	}
	r.cmd, r.outR, r.errR = cmd, outR, errR
	if err := r.rc.join(cmd.Process.Pid); err != nil {
		killGroup(cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		outR.Close()
		errR.Close()
		return fmt.Errorf("sandbox: putting the build in its %s: %w", r.rc.name(), err)
	}
	if _, err := gateW.Write([]byte("go\n")); err != nil {
		killGroup(cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return fmt.Errorf("sandbox: starting build: %w", err)
	}
	for _, s := range []struct {
		name string
		f    *os.File
	}{{"stdout", outR}, {"stderr", errR}} {
		r.readers.Add(1)
		go func() {
			defer r.readers.Done()
			lineReader(s.f, r.count, func(text string) { r.emit(newLine(s.name, text)) })
		}()
	}
	return nil
}

// emit delivers a line, noting the messages by which rlimit failures are recognised.
func (r *runner) emit(ln Line) {
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	if ln.Stream != "system" {
		low := strings.ToLower(ln.Text)
		if r.l.MaxFileBytes > 0 && !r.sawFsize && (strings.Contains(low, "file too large") || strings.Contains(low, "file size limit exceeded")) {
			r.sawFsize = true
		}
		if r.l.MaxProcesses > 0 && !r.sawNproc && (strings.Contains(low, "cannot fork") ||
			((strings.Contains(low, "fork") || strings.Contains(low, "spawn")) &&
				(strings.Contains(low, "resource temporarily unavailable") || strings.Contains(low, "eagain")))) {
			r.sawNproc = true
		}
	}
	if r.onLine != nil {
		r.onLine(ln)
	}
}

// count adds n bytes of output and stops the build past its output limit.
func (r *runner) count(n int) bool {
	total := r.outBytes.Add(int64(n))
	if r.l.MaxOutputBytes > 0 && total > r.l.MaxOutputBytes {
		r.stop(limitErr(LimitOutput, bytesize.Format(r.l.MaxOutputBytes)))
		return false
	}
	return true
}

// stop ends the build for reason; the first reason wins. SIGTERM first, SIGKILL after the
// grace period.
func (r *runner) stop(reason error) {
	r.stopOnce.Do(func() {
		r.stopMu.Lock()
		r.stopErr = reason
		r.stopMu.Unlock()
		r.emit(newLine("system", "Stopping build: "+reason.Error()))
		pgid := r.cmd.Process.Pid
		killGroup(pgid, syscall.SIGTERM)
		killMarked(r.p.token, syscall.SIGTERM)
		go func() {
			select {
			case <-r.exited:
			case <-time.After(killGrace):
			}
			killGroup(pgid, syscall.SIGKILL)
			killMarked(r.p.token, syscall.SIGKILL)
		}()
	})
}

// watch stops the build on cancellation, at the wall time and when a sampled limit is passed.
func (r *runner) watch(ctx context.Context, done <-chan struct{}) {
	var wall <-chan time.Time
	if r.l.WallTime > 0 {
		t := time.NewTimer(r.l.WallTime)
		defer t.Stop()
		wall = t.C
	}
	samples := time.NewTicker(sampleEvery)
	defer samples.Stop()
	var disk <-chan time.Time
	if r.l.MaxWorkspaceBytes > 0 || r.l.MaxFiles > 0 || r.l.MaxFileBytes > 0 {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		disk = t.C
	}
	// The workspace walk can take a while: it runs beside the sampler.
	var diskBusy atomic.Bool
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			r.stop(fmt.Errorf("build cancelled: %w", ctx.Err()))
			return
		case <-wall:
			r.stop(limitErr(LimitWallTime, r.l.WallTime.String()))
			return
		case <-samples.C:
			if le := r.checkSample(r.rc.sample()); le != nil {
				r.stop(le)
				return
			}
			if r.net.exceeded() {
				r.stop(r.net.limitError())
				return
			}
		case <-disk:
			if !diskBusy.CompareAndSwap(false, true) {
				continue
			}
			go func() {
				defer diskBusy.Store(false)
				mctx, cancel := context.WithCancel(ctx)
				defer cancel()
				go func() {
					select {
					case <-done:
					case <-mctx.Done():
					}
					cancel()
				}()
				if le := measure(mctx, r.p.workspace, r.l).check(r.l); le != nil {
					r.stop(le)
				}
			}()
		}
	}
}

// record keeps the peaks and the latest sample (the watchdog's last sample, taken after the
// build ended, is empty; a cgroup's still counts).
func (r *runner) record(s usageSample) {
	r.peakMu.Lock()
	defer r.peakMu.Unlock()
	r.peak = max(r.peak, s.Memory)
	r.cpu = max(r.cpu, s.CPU)
	r.last = s
}

// checkSample records s and returns the limit it shows passed, if any.
func (r *runner) checkSample(s usageSample) *LimitError {
	r.record(s)
	l := r.l
	switch {
	case s.OOMKills > 0:
		return limitErr(LimitMemory, bytesize.Format(l.MemoryBytes))
	case !r.rc.kernelMemoryLimit() && l.MemoryBytes > 0 && s.Memory > l.MemoryBytes:
		return limitErr(LimitMemory, bytesize.Format(l.MemoryBytes))
	case s.PidsMax > 0 || (!r.rc.countsProcesses() && l.MaxProcesses > 0 && s.Processes > l.MaxProcesses):
		return limitErr(LimitProcesses, strconv.Itoa(l.MaxProcesses))
	case l.CPUSeconds > 0 && s.CPU > time.Duration(l.CPUSeconds)*time.Second:
		return limitErr(LimitCPU, fmt.Sprintf("%ds", l.CPUSeconds))
	}
	return nil
}

// finish makes sure nothing of the build outlives Run, drains its output and fills in the
// result.
func (r *runner) finish() {
	pgid := r.cmd.Process.Pid
	killGroup(pgid, syscall.SIGKILL)
	for i := 0; i < 50 && killMarked(r.p.token, syscall.SIGKILL) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	readDone := make(chan struct{})
	go func() { r.readers.Wait(); close(readDone) }()
	select {
	case <-readDone:
	case <-time.After(killGrace):
		r.outR.Close()
		r.errR.Close()
		<-readDone
	}
	r.outR.Close()
	r.errR.Close()
	cleanupTmp(r.p.workspace)

	r.res.Duration = time.Since(r.start)
	r.res.OutputBytes = r.outBytes.Load()
	r.peakMu.Lock()
	r.res.PeakMemoryBytes, r.res.CPUTime = r.peak, r.cpu
	r.peakMu.Unlock()
	r.res.ExitCode = -1
	if ps := r.cmd.ProcessState; ps != nil {
		r.res.ExitCode = ps.ExitCode()
		if st, ok := ps.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			r.res.ExitCode = 128 + int(st.Signal())
		}
	}
}

// verdict is Run's error: the stop reason, a limit the result shows, or the command's own
// failure.
func (r *runner) verdict(waitErr error) error {
	r.stopMu.Lock()
	serr := r.stopErr
	r.stopMu.Unlock()
	if serr != nil {
		return serr
	}
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return fmt.Errorf("sandbox: waiting for build: %w", waitErr)
		}
	}
	fail := func(le *LimitError) error {
		r.emit(newLine("system", "Build failed: "+le.Error()))
		return le
	}
	// A limit seen in the last sample, or by the proxy, even if the command carried on.
	r.peakMu.Lock()
	last := r.last
	r.peakMu.Unlock()
	if le := r.checkSample(last); le != nil {
		return fail(le)
	}
	if r.net.exceeded() {
		return fail(r.net.limitError())
	}
	if le := measure(context.Background(), r.p.workspace, r.l).check(r.l); le != nil {
		return fail(le)
	}
	r.emitMu.Lock()
	fsz, npr := r.sawFsize, r.sawNproc
	r.emitMu.Unlock()
	// A process killed by SIGXFSZ left a truncated file behind, even when the script carried
	// on and exited 0.
	if r.res.ExitCode == 0 && !fsz {
		return nil
	}
	sig := syscall.Signal(0)
	if r.res.ExitCode > 128 && r.res.ExitCode < 128+65 {
		sig = syscall.Signal(r.res.ExitCode - 128)
	}
	l := r.l
	switch {
	case l.MaxFileBytes > 0 && (sig == syscall.SIGXFSZ || fsz):
		return fail(limitErr(LimitFileSize, bytesize.Format(l.MaxFileBytes)))
	case l.CPUSeconds > 0 && sig == syscall.SIGXCPU:
		return fail(limitErr(LimitCPU, fmt.Sprintf("%ds", l.CPUSeconds)))
	case npr && !r.rc.countsProcesses():
		return fail(limitErr(LimitProcesses, strconv.Itoa(l.MaxProcesses)))
	}
	ee := &ExitError{Code: r.res.ExitCode}
	if sig != 0 {
		ee.Signal = unixSignalName(sig)
	}
	return ee
}

// network is a Run's way out: the egress proxy served on a unix socket in a private directory
// (bound into the sandbox), or on a loopback port of the host without bubblewrap.
type network struct {
	egress    Egress
	socketDir string
	ln        net.Listener
	done      chan error
	limited   interface{ Exceeded() (bool, int64) }
}

func startNetwork(p *plan) (*network, error) {
	n := &network{}
	if p.opts.Egress == nil || p.opts.HostNetwork {
		return n, nil
	}
	n.egress = p.opts.Egress
	n.limited, _ = p.opts.Egress.(interface{ Exceeded() (bool, int64) })
	if p.bwrap != "" {
		dir, err := os.MkdirTemp("", "skydeploy-egress-")
		if err != nil {
			return nil, fmt.Errorf("sandbox: egress socket dir: %w", err)
		}
		// The build user may enter the directory and use the socket, nothing else.
		if err := os.Chmod(dir, 0o711); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		sock := filepath.Join(dir, egressSocketName)
		ln, err := net.Listen("unix", sock)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: egress socket: %w", err)
		}
		if err := os.Chown(sock, p.uid, p.gid); err != nil {
			ln.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: egress socket: %w", err)
		}
		if err := os.Chmod(sock, 0o600); err != nil {
			ln.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: egress socket: %w", err)
		}
		n.socketDir, n.ln = dir, ln
		p.proxyURL = "http://" + sandboxProxyAddr
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("sandbox: egress listener: %w", err)
		}
		n.ln = ln
		p.proxyURL = "http://" + ln.Addr().String()
	}
	n.done = make(chan error, 1)
	go func() { n.done <- n.egress.Serve(n.ln) }()
	return n, nil
}

// exceeded reports whether the proxy stopped at its byte limit.
func (n *network) exceeded() bool {
	if n == nil || n.limited == nil {
		return false
	}
	ok, _ := n.limited.Exceeded()
	return ok
}

func (n *network) limitError() *LimitError {
	_, limit := n.limited.Exceeded()
	return limitErr(LimitEgress, bytesize.Format(limit))
}

func (n *network) close() {
	if n == nil || n.ln == nil {
		return
	}
	_ = n.ln.Close()
	_ = n.egress.Close()
	<-n.done
	if n.socketDir != "" {
		_ = os.RemoveAll(n.socketDir)
	}
}
