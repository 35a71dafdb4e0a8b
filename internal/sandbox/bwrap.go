package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// etcFiles are the parts of /etc a build may need: name resolution, users,
// TLS roots, the dynamic linker cache and Debian's alternatives symlinks.
var etcFiles = []string{
	"/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	"/etc/passwd", "/etc/group",
	"/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/alternatives", "/etc/localtime", "/etc/timezone", "/etc/mime.types",
	"/etc/protocols", "/etc/services", "/etc/os-release", "/etc/debian_version",
}

// rootLinks are top-level system directories that are directories on some
// systems and symbolic links into /usr on merged-/usr ones.
var rootLinks = []string{"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}

// bwrapArgs builds the bubblewrap command line that runs inner (already including the prlimit
// wrapper) with the workspace as the only writable tree. With egress, the sandbox's own
// loopback gets a relay (this program, see relay.go) to the proxy's unix socket, which is the
// only thing of the host's network the build can reach.
func bwrapArgs(p *plan, inner []string, socketDir string) []string {
	a := []string{
		// Always a user namespace: when running as an unprivileged user bwrap needs one
		// anyway, and it lets us forbid nested ones.
		"--unshare-user", "--disable-userns",
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--die-with-parent", "--new-session",
		"--hostname", "skydeploy-build",
	}
	if !p.opts.HostNetwork {
		a = append(a, "--unshare-net")
	}
	a = append(a, "--ro-bind", "/usr", "/usr")
	for _, d := range rootLinks {
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if target, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", target, d)
			}
		} else if fi.IsDir() {
			a = append(a, "--ro-bind", d, d)
		}
	}
	for _, f := range etcFiles {
		a = append(a, "--ro-bind-try", f, f)
	}
	for _, d := range p.readOnly {
		a = append(a, "--ro-bind", d, d)
	}
	relay := p.initBin != "" && socketDir != ""
	if relay {
		a = append(a, "--ro-bind", p.initBin, sandboxInitPath, "--ro-bind", socketDir, sandboxNetDir)
	}
	a = append(a,
		"--proc", "/proc",
		"--dev", "/dev",
		"--bind", p.workspace, sandboxWorkspace,
		"--bind", p.tmpDir, sandboxTmp,
		"--bind", p.shmDir, "/dev/shm",
		// The sandbox's own root and /dev are tmpfs in memory: make them read-only so the
		// workspace stays the only place a build can fill.
		"--remount-ro", "/dev",
		"--remount-ro", "/",
		"--chdir", sandboxWorkspace,
		"--",
	)
	if relay {
		a = append(a, sandboxInitPath, relayCommand, sandboxProxyAddr, sandboxNetDir+"/"+egressSocketName, "--")
	}
	return append(a, inner...)
}

// findBwrap returns bubblewrap's path or an error that says how to get it.
func findBwrap() (string, error) {
	bw, err := exec.LookPath("bwrap")
	if err != nil {
		return "", fmt.Errorf("sandbox: bubblewrap (bwrap) is not installed: install it (Debian: apt-get install bubblewrap), or set SKYDEPLOY_SANDBOX=none to run builds without isolation, which is only safe when every repository is trusted")
	}
	return bw, nil
}

var (
	probeMu    sync.Mutex
	probeCache = map[string]error{}
)

// probeBwrap checks once per (binary, user) that bubblewrap can create its namespaces, the
// network namespace included, when started with cred.
func probeBwrap(bwrap string, cred *syscall.Credential) error {
	key := fmt.Sprintf("%s:%v", bwrap, cred)
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probeCache[key]; ok {
		return err
	}
	args := []string{"--unshare-user", "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "true"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bwrap, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("sandbox: bubblewrap cannot create its namespaces here (%v: %s): allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0), or set SKYDEPLOY_SANDBOX=none to run builds without isolation, which is only safe when every repository is trusted",
			err, strings.TrimSpace(string(out)))
	}
	probeCache[key] = err
	return err
}

// nodeDirs finds node on the worker's PATH. It returns the directory to put on
// the build's PATH and the install directories (parent of bin/, before and
// after resolving links) that must be visible read-only in the sandbox; system
// locations already bound are left out.
func nodeDirs() (binDir string, installDirs []string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil
	}
	node, _ = filepath.Abs(node)
	binDir = filepath.Dir(node)
	cands := []string{filepath.Dir(binDir)}
	if real, err := filepath.EvalSymlinks(node); err == nil {
		cands = append(cands, filepath.Dir(filepath.Dir(real)))
	}
	for _, d := range cands {
		if d == "/" || d == "/usr" || strings.HasPrefix(d, "/usr/") {
			continue
		}
		if d == "/bin" || d == "/sbin" || d == "/lib" || d == "/lib64" {
			continue
		}
		dup := false
		for _, x := range installDirs {
			dup = dup || x == d
		}
		if !dup {
			installDirs = append(installDirs, d)
		}
	}
	return binDir, installDirs
}
