// Package sandbox runs untrusted build commands (install and build steps of a
// project) with a clean environment, as an unprivileged user, under resource
// limits and, where bubblewrap works, in a namespace sandbox where only the
// workspace is writable. It also offers SafeOutputWalk to read a build's output
// without following links out of it.
//
// It depends on nothing but the standard library and two external programs:
// prlimit (util-linux, needed when any rlimit is set) and, optionally, bwrap.
//
// # Who runs the build
//
// When the worker runs as root, the build runs as Options.User (default
// "nobody", uid 0 refused): Run chowns the whole workspace to that user first
// and every directory above the workspace must be searchable by it (Run checks
// and fails clearly otherwise). When the worker is not root, the build runs as
// the worker's own user.
//
// # Bubblewrap (Mode auto or bwrap)
//
// bwrap itself is started as the build user (SysProcAttr.Credential), never as
// root, so it has no privilege on the host at all: it relies on unprivileged
// user namespaces, which this kernel allows (Debian 12, kernel 6.x, bwrap 0.8
// installed without setuid). Running bwrap as root with --uid instead would
// map host root into the sandbox and make files root-owned, so it is not
// used. Mode auto probes once per user/network combination that bwrap can
// create its namespaces and falls back to Mode none if not; Mode bwrap fails
// instead. Result.Sandbox says what was used.
//
// Inside: a new user namespace (the build user's uid mapped to itself, no
// capabilities on the host, nested user namespaces disabled), new pid, ipc,
// uts and (if possible) cgroup namespaces, and with Network false an empty
// network namespace (only its own loopback: the host's 127.0.0.1 services are
// unreachable). The root is an empty tmpfs, remounted read-only, holding
// read-only binds of /usr (and /bin, /lib... or their merged-/usr symlinks),
// a short list of /etc files (resolver, users, TLS roots, ld.so cache,
// alternatives), node's install directory when it is outside /usr, and
// Options.ExtraReadOnly; a fresh /proc and a minimal read-only /dev. The
// workspace is bound read-write at /workspace (the command starts there),
// the workspace's .skydeploy/tmp at /tmp and .skydeploy/shm at /dev/shm.
// Nothing else of the host is visible: not /root, /work, the platform's .data
// directory, the host's /tmp or the workspace's real path.
//
// What it does not give: no seccomp filter (the whole kernel syscall surface
// that an unprivileged user namespace allows remains reachable); no cgroup, so
// memory and CPU are per-process rlimits, not totals; with Network true the
// build shares the host's network namespace and can reach anything the host
// can, including services on the host's loopback (run installs with Network
// only when needed, and firewall the worker); /etc/passwd and the system
// binaries are readable.
//
// # Mode none
//
// A plain process as the build user with the same clean environment and
// limits. It can read (and write) whatever that user can on the host.
//
// # Environment
//
// Only: PATH (system directories plus node's bin directory), HOME
// (<workspace>/.skydeploy/home), TMPDIR, LANG=C.UTF-8, CI=1, USER, LOGNAME,
// XDG_CACHE_HOME and XDG_CONFIG_HOME under HOME, npm_config_cache (HOME/.npm),
// npm_config_store_dir (HOME/.pnpm-store), YARN_CACHE_FOLDER
// (HOME/.yarn-cache), COREPACK_HOME, npm_config_update_notifier=false, and
// SKYDEPLOY_SANDBOX_RUN (a random per-run marker, see below), then
// Options.Env on top. NODE_ENV is not set. Nothing of the worker's own
// environment is passed on. Under bwrap paths are the in-sandbox ones
// (/workspace/...), otherwise the real ones; commands should use relative
// paths. Everything a build can write therefore lies in the workspace
// (.skydeploy/ holds home and temp; the caller should exclude it from what
// it publishes, and can cache parts of it).
//
// # Limits
//
//   - WallTime: a timer; on expiry the build is killed (LimitError "wall time").
//   - MemoryBytes, CPUSeconds, MaxFileBytes, MaxProcesses: RLIMIT_AS,
//     RLIMIT_CPU (SIGXCPU at the limit, SIGKILL 5 s of CPU later),
//     RLIMIT_FSIZE and RLIMIT_NPROC, set with `prlimit ... --` inside the
//     sandbox just before /bin/sh, so they apply to the build and everything
//     it starts, but each process separately (RLIMIT_AS is per process, so a
//     build of n processes may use n times MemoryBytes; RLIMIT_NPROC counts
//     all processes of the build user's uid, so concurrent builds as the same
//     user share it). Failures are recognised after the fact: death by
//     SIGXFSZ / SIGXCPU (or exit status 128+n from the shell), and for memory
//     and processes typical messages in the output (MemoryError, "out of
//     memory", "Cannot fork"...). An unrecognised failure is an ExitError. Node
//     needs well over 256 MiB of address space just to start.
//   - MaxOutputBytes: bytes read from stdout+stderr are counted; past the
//     limit delivery stops and the build is killed (LimitError "output size").
//   - MaxWorkspaceBytes, MaxFiles (and MaxFileBytes again): the workspace is
//     walked every 2 s while the build runs and once after it ends (disk usage
//     by allocated blocks, entries that are not directories, largest file).
//     These cover the whole workspace, node_modules and caches included, so
//     the caller should give builds larger values than it allows for sources
//     or published output.
//
// # Ending the build
//
// The build runs in its own process group. On cancellation of ctx or any
// limit, the group gets SIGTERM and, 2 s later, SIGKILL. Under bwrap, bwrap
// (the group leader) dies on SIGTERM and, through --die-with-parent and the
// pid namespace, takes every process of the build with it at once; when the
// command ends normally the pid namespace ends too, so background and
// daemonised processes never outlive Run: this is guaranteed. In Mode none,
// after the command ends (or is stopped) Run kills its process group and every
// process whose environment carries this run's SKYDEPLOY_SANDBOX_RUN marker,
// found in /proc, repeating until none is left: that catches setsid, nohup
// and double forks, but a process that deliberately re-executes itself with
// a scrubbed environment in a new session can escape. Use bwrap in
// production.
//
// Output lines are read as produced, split at 4 KiB, invalid UTF-8 replaced,
// and delivered in order per stream; onLine calls are serialised. Lines with
// Stream "system" come from the sandbox itself (what isolation is used, why a
// build was stopped).
package sandbox
