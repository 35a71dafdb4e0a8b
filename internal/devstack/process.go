// Package devstack starts the real third-party services SkyDeploy runs on — the Temporal CLI
// dev server, versitygw and redis-server — as child processes. `skydeploy dev` uses it to bring
// up the local stack and the end-to-end tests use it (through internal/testenv) to start their
// own copies on free ports.
//
// It must never depend on SkyDeploy's role packages.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a child process started by this package.
type Process struct {
	Name string
	Addr string
	args []string
	bin  string
	env  []string
	dir  string
	log  io.Writer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func newProcess(name, addr, bin string, args []string, logw io.Writer) *Process {
	if logw == nil {
		logw = io.Discard
	}
	return &Process{Name: name, Addr: addr, bin: bin, args: args, log: logw}
}

// Start runs the process and waits until its address accepts connections.
func (p *Process) Start(ctx context.Context, ready time.Duration) error {
	p.mu.Lock()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Dir = p.dir
	// Own process group so that stopping it stops its children, and so that Ctrl-C in a
	// terminal reaches the supervisor first, which then stops everything in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s (%s): %w", p.Name, p.bin, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	done := p.done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	if p.Addr == "" {
		return nil
	}
	if err := WaitTCP(ctx, p.Addr, ready, done); err != nil {
		p.Kill()
		return fmt.Errorf("%s did not start listening on %s: %w", p.Name, p.Addr, err)
	}
	return nil
}

// Stop asks the process to end (SIGTERM) and kills it if it has not ended after grace.
func (p *Process) Stop(grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Kill ends the process at once with SIGKILL, as a crash would.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Err is the process's exit error once Done is closed.
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// WaitTCP waits until addr accepts a TCP connection, the timeout passes, or exited is closed.
func WaitTCP(ctx context.Context, addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("process exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Listening reports whether something accepts TCP connections on addr.
func Listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// FindBinary returns the path of name in dir if it exists there, else on PATH.
func FindBinary(dir, name string) (string, error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in %s or on PATH (run `make tools`): %w", name, dir, err)
	}
	return p, nil
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
