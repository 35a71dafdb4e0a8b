// Package sandbox runs untrusted build commands (install and build steps of a project) with a
// clean environment, as an unprivileged user, in bubblewrap namespaces where only the
// workspace is writable and the only way out to the network is an egress proxy of the worker,
// under limits that count the whole build. It also offers SafeOutputWalk to read a build's
// output without following links out of it.
//
// It depends on nothing but the standard library and external programs: bwrap, prlimit
// (util-linux) and /bin/sh. It must never import Temporal, Redis, object storage or another
// SkyDeploy package but internal/bytesize (standard library only, for sizes in messages): the
// egress proxy comes in through the Egress interface.
//
// # Files
//
//   - options.go: Limits, Options, Result, Line, the workspace layout (HomeDir and the
//     package-manager caches below it).
//   - plan.go: prepare: who runs the build, the writable area, the clean environment, the
//     in-sandbox command line with its rlimits.
//   - run.go: Run and its runner (start under resource control, stream output, watch limits,
//     stop, verdict) and the build's network (the proxy's socket).
//   - bwrap.go: the bubblewrap command line, finding and probing bwrap.
//   - relay.go: the in-sandbox relay to the egress proxy (this program re-executed).
//   - control.go, cgroup.go, watchdog.go: whole-build limits — a cgroup (v2 or v1) per Run,
//     or the /proc watchdog where none can be made.
//   - check.go: Check, what a build worker runs at start to refuse to start when the sandbox
//     cannot work.
//   - usage.go, walk.go, output.go, kill.go, errors.go, signals.go: workspace limits, safe
//     output walking, line splitting, killing strays, error types.
//
// # Who runs the build
//
// When the worker runs as root, the build runs as Options.User (default "nobody", uid 0
// refused): Run chowns the whole workspace to that user first and every directory above the
// workspace must be searchable by it (Run checks and fails clearly otherwise). When the worker
// is not root, the build runs as the worker's own user.
//
// # Bubblewrap (Mode "bwrap", the default)
//
// bwrap itself is started as the build user (SysProcAttr.Credential), never as root, so it has
// no privilege on the host at all: it relies on unprivileged user namespaces. There is no
// fallback: when bwrap is missing or cannot create its namespaces, Run (and Check, which a
// build worker runs at start) fails with an error that names the fix; only an explicit
// Mode "none" runs builds unsandboxed, with a warning line in every build log.
//
// Inside: a new user namespace (the build user's uid mapped to itself, no capabilities on the
// host, nested user namespaces disabled), new pid, ipc, uts and (if possible) cgroup
// namespaces, and always a network namespace of its own with only its own loopback: the
// host's 127.0.0.1 services, its private networks and everything else are unreachable. The
// root is an empty tmpfs, remounted read-only, holding read-only binds of /usr (and /bin,
// /lib... or their merged-/usr symlinks), a short list of /etc files (resolver, users, TLS
// roots, ld.so cache, alternatives), node's install directory when it is outside /usr, and
// Options.ExtraReadOnly; a fresh /proc and a minimal read-only /dev. The workspace is bound
// read-write at /workspace (the command starts there), the workspace's .skydeploy/tmp at /tmp
// and .skydeploy/shm at /dev/shm. Nothing else of the host is visible.
//
// # Network: the egress proxy
//
// With Options.Egress the build reaches the network only through that proxy, which the worker
// runs outside the sandbox and which decides where connections may go (package egress). Run
// serves it on a unix socket in a fresh directory (mode 0711, the socket owned by the build
// user, mode 0600) that is bound read-only into the sandbox at /run/skydeploy/net. A relay
// inside the sandbox listens on 127.0.0.1:3128 of the sandbox's own loopback and forwards
// each connection to that socket (relay.go). HTTP_PROXY, HTTPS_PROXY (and lower case), npm's
// and yarn's proxy settings point at it; NO_PROXY keeps the build's own loopback direct. A
// build that ignores the proxy settings simply has no network. Without Options.Egress the
// build has no network at all. Options.HostNetwork (measurements only) shares the worker's
// network namespace instead.
//
// # Limits of the whole build
//
// Memory, processes and CPU time count every process of the build together (control.go):
//   - a cgroup per Run where the worker can make one (cgroup v2 below its own cgroup, or the
//     v1 memory, pids, cpu and cpuacct hierarchies): the first process is a shell that waits
//     on a pipe until the worker has written its pid into the cgroup, so no build code ever
//     runs outside it; the kernel holds the build to memory.max / pids.max (and cpu.max with
//     Limits.CPUs); an out-of-memory kill or a refused fork stops the whole build with the
//     memory or process LimitError; CPU time is read from the cgroup. Nothing is left running
//     and the cgroup is removed when Run returns.
//   - else the watchdog: every 250 ms it sums the resident memory, threads and CPU time of the
//     build's process tree from /proc and stops the build past a limit; RLIMIT_NPROC and
//     RLIMIT_CPU remain per-process backstops between samples.
//
// The second line of every build log says which mechanism is in force. Address space
// (RLIMIT_AS) is never limited: V8 reserves gigabytes it never uses. Result.PeakMemoryBytes is
// the largest working set sampled (resident memory without reclaimable file cache).
//
// Other limits: WallTime (a timer), MaxFileBytes (RLIMIT_FSIZE through prlimit, SIGXFSZ),
// MaxOutputBytes (bytes read from stdout+stderr), and MaxWorkspaceBytes / MaxFiles (the
// workspace walked every 2 s and once after the end: allocated blocks, non-directory
// entries, largest file). These cover node_modules and caches, so the caller gives builds
// larger values than it allows for sources or published output. Each failure is a LimitError
// naming the limit, its value and the setting.
//
// # Environment
//
// Only: PATH (system directories plus node's bin directory), HOME
// (<workspace>/.skydeploy/home), TMPDIR, LANG=C.UTF-8, CI=1, USER, LOGNAME, XDG_CACHE_HOME,
// XDG_CONFIG_HOME and XDG_DATA_HOME under HOME, npm_config_cache, YARN_CACHE_FOLDER,
// COREPACK_HOME, npm_config_update_notifier=false, the proxy variables when the build has
// egress, and SKYDEPLOY_SANDBOX_RUN (a random per-run marker), then Options.Env on top.
// Nothing of the worker's own environment is passed on. PlatformEnvNames lists these names.
//
// # Ending the build
//
// The build runs in its own process group. On cancellation of ctx or any limit, the group
// gets SIGTERM and, 2 s later, SIGKILL. Under bwrap the pid namespace guarantees that nothing
// forked by the build outlives Run; a cgroup is emptied with SIGKILL before it is removed; in
// Mode "none" without a cgroup, Run also kills every process whose environment carries this
// run's marker.
//
// Output lines are read as produced, split at 4 KiB, invalid UTF-8 replaced, and delivered in
// order per stream; onLine calls are serialised. Lines with Stream "system" come from the
// sandbox itself (isolation, limits, why a build was stopped).
package sandbox
