package sandbox

import (
	"net"
	"time"
)

// Limits bounds one Run. A zero field means "no limit". Memory, CPU and processes count the
// whole build (every process it starts), never one process at a time.
type Limits struct {
	WallTime          time.Duration // whole command, enforced with a timer
	MemoryBytes       int64         // memory of the whole build (cgroup, or the watchdog's sum of resident memory)
	CPUSeconds        int64         // CPU time of the whole build
	CPUs              float64       // CPU bandwidth (cores) where the cgroup supports it; 0 = no cap
	MaxOutputBytes    int64         // bytes printed on stdout+stderr together
	MaxFiles          int           // non-directory entries in the whole workspace
	MaxFileBytes      int64         // RLIMIT_FSIZE, and the largest file in the workspace
	MaxWorkspaceBytes int64         // disk usage of the whole workspace
	MaxProcesses      int           // processes (and threads) of the whole build
}

// Egress is the proxy that is a build's only way out to the network; *egress.Proxy is one.
// Run serves it on a unix socket that the sandbox reaches through a relay on its own loopback.
type Egress interface {
	Serve(l net.Listener) error
	Close() error
}

// Modes of isolation.
const (
	ModeBwrap = "bwrap" // bubblewrap namespaces (the default)
	ModeNone  = "none"  // a plain process: only for machines where nothing untrusted builds
)

// Resource control mechanisms (Options.ResourceControl and Result.ResourceControl).
const (
	ControlAuto     = "auto"     // a cgroup when one can be made, else the watchdog
	ControlWatchdog = "watchdog" // never a cgroup (tests of the fallback, hosts without delegation)
)

// Options says how to run a build command.
type Options struct {
	// Mode is "bwrap" (default) or "none". There is no silent fallback: with "bwrap" a Run
	// fails when bubblewrap cannot run.
	Mode string
	// User is the unprivileged user builds run as when the worker runs as root (default
	// "nobody"). Ignored when not root: builds run as self.
	User string
	// Egress, when set, is the build's only network: HTTP(S)_PROXY and the package managers'
	// proxy settings point at it. Without it the build has no network at all (bwrap mode).
	Egress Egress
	// HostNetwork shares the worker's network namespace with the build, bypassing the proxy.
	// Only for measuring what the proxy costs (bench/build); never for untrusted builds.
	HostNetwork bool
	// Env is the project's build environment, added to the clean base.
	Env map[string]string
	// ExtraReadOnly lists absolute host paths made visible read-only in the sandbox at the same
	// path (node's install directory is found and added automatically).
	ExtraReadOnly []string
	// ResourceControl is "auto" (default) or "watchdog".
	ResourceControl string
	Limits          Limits
}

// Line is one line of build output.
type Line struct {
	Stream string // "stdout", "stderr" or "system"
	Text   string
	Time   time.Time
}

// Result describes a finished Run; it is filled in as far as possible even when Run returns
// an error.
type Result struct {
	ExitCode    int
	Duration    time.Duration
	OutputBytes int64
	Sandbox     string // the isolation actually used, human-readable
	// ResourceControl is how limits were enforced: "cgroup v1", "cgroup v2" or "watchdog".
	ResourceControl string
	// PeakMemoryBytes is the most memory the whole build held at once (working set: resident
	// memory without reclaimable file cache), sampled a few times a second.
	PeakMemoryBytes int64
	// CPUTime is the CPU time the whole build used.
	CPUTime time.Duration
}

// Layout of the sandbox's writable area inside the workspace.
const (
	stateDir = ".skydeploy"
	homeRel  = stateDir + "/home"
	tmpRel   = stateDir + "/tmp"
	shmRel   = stateDir + "/shm"
)

// HomeDir is HOME of builds relative to the workspace (npm, yarn, pnpm and corepack caches live
// below it, see CacheDirs).
const HomeDir = homeRel

// Package-manager download caches below HomeDir, as the build's environment sets them.
const (
	NpmCacheDir     = HomeDir + "/.npm"
	YarnCacheDir    = HomeDir + "/.yarn-cache"
	YarnBerryCache  = HomeDir + "/.yarn/berry/cache"
	PnpmStoreDir    = HomeDir + "/.local/share/pnpm/store"
	CorepackHomeDir = HomeDir + "/.cache/node/corepack"
)

// killGrace is how long the build gets between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// sampleEvery is how often resource use is sampled (peak memory, the watchdog's limits).
const sampleEvery = 250 * time.Millisecond
