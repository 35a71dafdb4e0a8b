package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The watchdog is the fallback where no cgroup can be made (a container without delegation, a
// worker that is not root): a few times a second it finds the build's processes in /proc — the
// descendants of its first process, plus, without bubblewrap, any process carrying the run's
// marker variable (which catches double forks and setsid) — and sums their resident memory,
// threads and CPU time. The runner stops the build when a sum passes its limit. Between two
// samples a process can briefly exceed the memory limit; RLIMIT_NPROC and RLIMIT_CPU remain as
// per-process backstops for fork bombs and CPU (see plan.inner). The kernel's page size and
// clock tick are read once.

type watchdog struct {
	uid    int
	marker bool   // look for markerVar=token outside the tree too (no pid namespace)
	needle []byte // markerVar=token

	mu   sync.Mutex
	root int
}

func newWatchdog(uid int, marker bool, token string) *watchdog {
	return &watchdog{uid: uid, marker: marker, needle: []byte(markerVar + "=" + token)}
}

func (w *watchdog) name() string { return "watchdog" }

func (w *watchdog) describe(l Limits) string {
	return "watchdog summing the resident memory, threads and CPU time of the build's processes every " +
		sampleEvery.String() + " (" + limitsText(l) + ")"
}

func (w *watchdog) join(pid int) error {
	w.mu.Lock()
	w.root = pid
	w.mu.Unlock()
	return nil
}

func (w *watchdog) countsProcesses() bool   { return false }
func (w *watchdog) countsCPU() bool         { return false }
func (w *watchdog) kernelMemoryLimit() bool { return false }
func (w *watchdog) close()                  {}

var (
	pageSize = int64(os.Getpagesize())
	// clockTicks is USER_HZ, 100 on every Linux architecture SkyDeploy runs on.
	clockTicks int64 = 100
)

// procStat is what the watchdog reads of one process.
type procStat struct {
	pid, ppid int
	threads   int
	rss       int64 // bytes
	cpu       int64 // ticks: utime+stime+cutime+cstime
}

// parseProcStat parses /proc/<pid>/stat; comm may hold spaces and parentheses.
func parseProcStat(pid int, data []byte) (procStat, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return procStat{}, false
	}
	atoi := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	st := procStat{pid: pid, ppid: int(atoi(f[1])), threads: int(atoi(f[17])), rss: atoi(f[21]) * pageSize}
	st.cpu = atoi(f[11]) + atoi(f[12]) + atoi(f[13]) + atoi(f[14])
	if f[0] == "Z" {
		st.rss, st.threads = 0, 0
	}
	return st, true
}

func (w *watchdog) sample() usageSample {
	w.mu.Lock()
	root := w.root
	w.mu.Unlock()
	var s usageSample
	if root == 0 {
		return s
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	all := map[int]procStat{}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if st, ok := parseProcStat(pid, data); ok {
			all[pid] = st
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	tree := map[int]bool{}
	var walk func(int)
	walk = func(pid int) {
		if tree[pid] {
			return
		}
		if _, ok := all[pid]; !ok {
			return
		}
		tree[pid] = true
		for _, c := range children[pid] {
			walk(c)
		}
	}
	walk(root)
	if w.marker {
		for pid := range all {
			if !tree[pid] && w.owned(pid) && w.marked(pid) {
				walk(pid)
			}
		}
	}
	for pid := range tree {
		st := all[pid]
		s.Memory += st.rss
		s.Processes += st.threads
		s.CPU += time.Duration(st.cpu) * time.Second / time.Duration(clockTicks)
	}
	return s
}

func (w *watchdog) owned(pid int) bool {
	fi, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == w.uid
}

func (w *watchdog) marked(pid int) bool {
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if bytes.Equal(kv, w.needle) {
			return true
		}
	}
	return false
}
