package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// The relay: a build in its own network namespace reaches the egress proxy through a TCP
// listener on the sandbox's loopback (sandboxProxyAddr), which forwards every connection to
// the proxy's unix socket, bind-mounted into the sandbox. A program inside the namespace has
// to own that listener; it is this very program, re-executed: bwrap runs sandboxInitPath (a
// read-only bind of the worker's executable) with argv[1] = relayCommand, and the package's
// init function below turns that process into the relay, which then starts the build command
// as its child and exits with its status. Any binary that imports this package (the skydeploy
// command, test binaries) can therefore be a sandbox's init. The relay runs as the build user
// inside the sandbox: it is no more trusted than the build, and needs not be, since all it can
// reach is the proxy, which enforces the policy.

// relayCommand is argv[1] of a relay process.
const relayCommand = "skydeploy-sandbox-relay"

func init() {
	if len(os.Args) > 2 && os.Args[0] == sandboxInitPath && os.Args[1] == relayCommand {
		os.Exit(relayMain(os.Args[2:]))
	}
}

// relayMain is the relay: args are listen address, unix socket, "--", command...
func relayMain(args []string) int {
	if len(args) < 4 || args[2] != "--" {
		fmt.Fprintln(os.Stderr, "sandbox relay: usage: ADDR SOCKET -- COMMAND...")
		return 125
	}
	addr, socket, command := args[0], args[1], args[3:]
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: the egress relay cannot listen on %s: %v\n", addr, err)
		return 125
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relayConn(c, socket)
		}
	}()
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: cannot start the build command: %v\n", err)
		return 126
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	if ps := cmd.ProcessState; ps != nil {
		if st, ok := ps.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal())
		}
		return ps.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "sandbox: build command: %v\n", err)
	return 126
}

// relayConn copies one connection to the proxy's socket and back.
func relayConn(c net.Conn, socket string) {
	defer c.Close()
	up, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, c)
		_ = up.(*net.UnixConn).CloseWrite()
	}()
	_, _ = io.Copy(c, up)
	_ = c.(*net.TCPConn).CloseWrite()
	wg.Wait()
}

var (
	initBinMu   sync.Mutex
	initBinPath = map[string]string{}
)

// initBinary returns a path of this program that the build user can reach, for bwrap to bind
// into the sandbox. When the executable itself is out of the build user's reach (a test binary
// in a private build directory), it is linked (or copied) once per process into a root-owned
// directory under the system's temp dir.
func initBinary(uid, gid int) (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("sandbox: locating this program for the egress relay: %w", err)
	}
	if ok, _ := reachable(exe, uid, gid); ok {
		if fi, err := os.Stat(exe); err == nil && fi.Mode().Perm()&0o005 == 0o005 {
			return exe, nil
		}
	}
	key := fmt.Sprintf("%s:%d", exe, uid)
	initBinMu.Lock()
	defer initBinMu.Unlock()
	if p, ok := initBinPath[key]; ok {
		return p, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("skydeploy-sandbox-init-%d", os.Geteuid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	// The directory must be ours and not writable by others, or someone else could have put
	// a program there that builds would run.
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || st == nil || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("sandbox: %s is not a private directory of this user", dir)
	}
	if fi.Mode().Perm() != 0o755 {
		if err := os.Chmod(dir, 0o755); err != nil {
			return "", fmt.Errorf("sandbox: %w", err)
		}
	}
	sum := sha256.Sum256([]byte(key))
	dst := filepath.Join(dir, "init-"+hex.EncodeToString(sum[:8]))
	tmp := dst + fmt.Sprintf(".%d.tmp", os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Link(exe, tmp); err != nil {
		if err := copyExecutable(exe, tmp); err != nil {
			return "", fmt.Errorf("sandbox: preparing the egress relay: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	initBinPath[key] = dst
	removeStaleInits(dir, dst)
	return dst, nil
}

// removeStaleInits removes links to programs made more than a day ago (test binaries that are
// gone), so that repeated test runs do not fill the temp dir.
func removeStaleInits(dir, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if p == keep {
			continue
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil {
			continue
		}
		if time.Since(time.Unix(st.Ctim.Unix())) > 24*time.Hour {
			_ = os.Remove(p)
		}
	}
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
