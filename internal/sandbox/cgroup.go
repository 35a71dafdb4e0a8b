package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cgroups
//
// Each build gets a cgroup of its own, made by the worker (as root, or as a user the
// hierarchy is delegated to) below the worker's own cgroup, before the build's first process
// runs any code: the process starts as a small shell that waits on a pipe, the worker writes
// its pid into the cgroup, and only then does the shell exec bubblewrap. Children inherit the
// cgroup and cannot leave it: the build user has no write access to any cgroup file, and under
// bubblewrap /sys is not even visible. When the build ends, whatever is left in the cgroup is
// killed and the cgroup removed.
//
// cgroup v2 (unified): memory.max (+ memory.swap.max 0, memory.oom.group 1), pids.max and,
// when asked, cpu.max, in <own cgroup>/skydeploy-builds/<build>. If the worker's own cgroup
// holds processes and has no controllers enabled for its children (the "no internal
// processes" rule), the worker moves the processes of its cgroup into a leaf
// <own cgroup>/skydeploy-worker first, the way container entrypoints do with a delegated
// cgroup (systemd Delegate=yes, or a container with a private, writable cgroup namespace).
//
// cgroup v1: the memory (memory.limit_in_bytes and memory.memsw.limit_in_bytes), pids
// (pids.max), cpu (cpu.cfs_quota_us) and cpuacct (usage) hierarchies, each at
// <own cgroup in that hierarchy>/skydeploy-builds/<build>; memory and pids are required.
//
// Memory counts what the kernel charges the cgroup; at the limit it reclaims file cache first
// and then kills a process of the build (an "oom_kill" event), which stops the whole build
// with the memory LimitError. The peak reported is the largest working set sampled (usage
// without inactive file cache, as Kubernetes reports it).

// cgroupHierarchy is where the worker can make build cgroups.
type cgroupHierarchy interface {
	create(name string, l Limits) (resourceControl, error)
}

var (
	detectOnce sync.Once
	detected   cgroupHierarchy
	detectErr  error
)

// detectCgroups finds, once per process, a cgroup v2 hierarchy with the memory and pids
// controllers, else cgroup v1 memory and pids hierarchies.
func detectCgroups() (cgroupHierarchy, error) {
	detectOnce.Do(func() {
		mountinfo, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			detectErr = fmt.Errorf("reading mountinfo: %w", err)
			return
		}
		self, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			detectErr = fmt.Errorf("reading /proc/self/cgroup: %w", err)
			return
		}
		mounts := parseCgroupMounts(mountinfo)
		own := parseProcCgroup(self)
		var errs []string
		if v2, err := newCgroupV2(mounts, own); err == nil {
			detected = v2
			return
		} else {
			errs = append(errs, "v2: "+err.Error())
		}
		if v1, err := newCgroupV1(mounts, own); err == nil {
			detected = v1
			return
		} else {
			errs = append(errs, "v1: "+err.Error())
		}
		detectErr = errors.New(strings.Join(errs, "; "))
	})
	return detected, detectErr
}

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	Point       string   // where it is mounted
	Root        string   // the hierarchy path mounted there
	V2          bool     // cgroup2
	Controllers []string // v1 controllers of the hierarchy
}

// parseCgroupMounts reads the cgroup mounts of /proc/self/mountinfo.
func parseCgroupMounts(mountinfo []byte) []cgroupMount {
	var out []cgroupMount
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		m := cgroupMount{Point: unescapeMount(f[4]), Root: unescapeMount(f[3])}
		switch g[0] {
		case "cgroup2":
			m.V2 = true
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				switch opt {
				case "memory", "pids", "cpu", "cpuacct":
					m.Controllers = append(m.Controllers, opt)
				}
			}
			if len(m.Controllers) == 0 {
				continue
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// parseProcCgroup maps each v1 controller (and "" for v2) to this process's cgroup path.
func parseProcCgroup(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// cgroupDir is the directory of path inside a mount of its hierarchy.
func cgroupDir(m cgroupMount, path string) string {
	rel := path
	if m.Root != "/" {
		if !strings.HasPrefix(path+"/", m.Root+"/") {
			return "" // this process's cgroup is outside what is mounted
		}
		rel = strings.TrimPrefix(path, m.Root)
	}
	return filepath.Join(m.Point, rel)
}

func writeFile(dir, name, value string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

func readInt(dir, name string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readKeyed reads "key value" lines (memory.stat, memory.events, cpu.stat, pids.events...).
func readKeyed(dir, name string) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// readPids lists the processes of a cgroup.
func readPids(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// killCgroup kills every process of dir until none is left (or a few seconds pass).
func killCgroup(dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		pids := readPids(dir)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removeDir removes a cgroup directory, retrying while its last processes finish exiting.
func removeDir(dir string) {
	for i := 0; i < 100; i++ {
		err := os.Remove(dir)
		if err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- cgroup v2 ----

type cgroupV2Hierarchy struct {
	builds string // <own>/skydeploy-builds, with memory and pids enabled for its children
	cpu    bool   // the cpu controller is available
}

func newCgroupV2(mounts []cgroupMount, own map[string]string) (*cgroupV2Hierarchy, error) {
	path, ok := own[""]
	if !ok {
		return nil, errors.New("this process is in no cgroup v2")
	}
	var base string
	for _, m := range mounts {
		if m.V2 {
			if d := cgroupDir(m, path); d != "" {
				base = d
				break
			}
		}
	}
	if base == "" {
		return nil, errors.New("no cgroup2 mount holds this process's cgroup")
	}
	return prepareV2(base)
}

// prepareV2 readies base/skydeploy-builds for build cgroups, delegating base's processes to a
// leaf when base itself may not enable controllers for its children.
func prepareV2(base string) (*cgroupV2Hierarchy, error) {
	avail := strings.Fields(readString(base, "cgroup.controllers"))
	if !slices.Contains(avail, "memory") || !slices.Contains(avail, "pids") {
		return nil, fmt.Errorf("memory and pids controllers not available in %s (have %q)", base, avail)
	}
	want := []string{"+memory", "+pids"}
	h := &cgroupV2Hierarchy{builds: filepath.Join(base, "skydeploy-builds")}
	if slices.Contains(avail, "cpu") {
		want = append(want, "+cpu")
		h.cpu = true
	}
	enable := strings.Join(want, " ")
	if err := writeFile(base, "cgroup.subtree_control", enable); err != nil {
		// A cgroup with processes of its own cannot enable controllers for children: move
		// them to a leaf first.
		leaf := filepath.Join(base, "skydeploy-worker")
		if err := os.MkdirAll(leaf, 0o755); err != nil {
			return nil, fmt.Errorf("making %s: %w", leaf, err)
		}
		for _, pid := range readPids(base) {
			if err := writeFile(leaf, "cgroup.procs", strconv.Itoa(pid)); err != nil && !errors.Is(err, syscall.ESRCH) {
				return nil, fmt.Errorf("moving the worker's processes to %s: %w", leaf, err)
			}
		}
		if err := writeFile(base, "cgroup.subtree_control", enable); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(h.builds, 0o755); err != nil {
		return nil, fmt.Errorf("making %s: %w", h.builds, err)
	}
	if err := writeFile(h.builds, "cgroup.subtree_control", enable); err != nil {
		return nil, err
	}
	return h, nil
}

func readString(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(b))
}

func (h *cgroupV2Hierarchy) create(name string, l Limits) (resourceControl, error) {
	dir := filepath.Join(h.builds, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making %s: %w", dir, err)
	}
	cg := &cgroupV2{dir: dir}
	set := func(name, value string) error { return writeFile(dir, name, value) }
	var err error
	if l.MemoryBytes > 0 {
		err = errors.Join(err, set("memory.max", strconv.FormatInt(l.MemoryBytes, 10)))
		if _, serr := os.Stat(filepath.Join(dir, "memory.swap.max")); serr == nil {
			err = errors.Join(err, set("memory.swap.max", "0"))
		}
		// One process killed at the limit ends the build anyway: kill them all at once.
		_ = set("memory.oom.group", "1")
	}
	if l.MaxProcesses > 0 {
		err = errors.Join(err, set("pids.max", strconv.Itoa(l.MaxProcesses)))
	}
	if l.CPUs > 0 && h.cpu {
		err = errors.Join(err, set("cpu.max", fmt.Sprintf("%d 100000", int64(l.CPUs*100000))))
		cg.cpuMax = true
	}
	if err != nil {
		removeDir(dir)
		return nil, err
	}
	return cg, nil
}

type cgroupV2 struct {
	dir    string
	cpuMax bool
}

func (c *cgroupV2) name() string { return "cgroup v2" }

func (c *cgroupV2) describe(l Limits) string {
	return "cgroup v2 for the whole build (" + limitsText(l) + ")"
}

func (c *cgroupV2) join(pid int) error {
	return writeFile(c.dir, "cgroup.procs", strconv.Itoa(pid))
}

func (c *cgroupV2) sample() usageSample {
	stat := readKeyed(c.dir, "memory.stat")
	events := readKeyed(c.dir, "memory.events")
	ws := readInt(c.dir, "memory.current") - stat["inactive_file"]
	return usageSample{
		Memory:    max(ws, 0),
		Processes: int(readInt(c.dir, "pids.current")),
		CPU:       time.Duration(readKeyed(c.dir, "cpu.stat")["usage_usec"]) * time.Microsecond,
		OOMKills:  events["oom_kill"],
		PidsMax:   readKeyed(c.dir, "pids.events")["max"],
	}
}

func (c *cgroupV2) countsProcesses() bool   { return true }
func (c *cgroupV2) countsCPU() bool         { return true }
func (c *cgroupV2) kernelMemoryLimit() bool { return true }

func (c *cgroupV2) close() {
	if err := writeFile(c.dir, "cgroup.kill", "1"); err != nil {
		killCgroup(c.dir)
	}
	killCgroup(c.dir)
	removeDir(c.dir)
}

// ---- cgroup v1 ----

type cgroupV1Hierarchy struct {
	bases map[string]string // controller -> <own cgroup>/skydeploy-builds in its hierarchy
}

func newCgroupV1(mounts []cgroupMount, own map[string]string) (*cgroupV1Hierarchy, error) {
	h := &cgroupV1Hierarchy{bases: map[string]string{}}
	for _, m := range mounts {
		if m.V2 {
			continue
		}
		for _, c := range m.Controllers {
			path, ok := own[c]
			if !ok {
				continue
			}
			if d := cgroupDir(m, path); d != "" {
				h.bases[c] = filepath.Join(d, "skydeploy-builds")
			}
		}
	}
	for _, c := range []string{"memory", "pids"} {
		if h.bases[c] == "" {
			return nil, fmt.Errorf("no %s hierarchy mounted", c)
		}
		if err := os.MkdirAll(h.bases[c], 0o755); err != nil {
			return nil, fmt.Errorf("making %s: %w", h.bases[c], err)
		}
	}
	for _, c := range []string{"cpu", "cpuacct"} {
		if h.bases[c] != "" && os.MkdirAll(h.bases[c], 0o755) != nil {
			delete(h.bases, c)
		}
	}
	return h, nil
}

func (h *cgroupV1Hierarchy) create(name string, l Limits) (resourceControl, error) {
	cg := &cgroupV1{dirs: map[string]string{}}
	var err error
	for _, c := range []string{"memory", "pids", "cpu", "cpuacct"} {
		base := h.bases[c]
		if base == "" {
			continue
		}
		dir := filepath.Join(base, name)
		if cg.hasDir(dir) {
			cg.dirs[c] = dir // co-mounted controllers (cpu,cpuacct) share a directory
			continue
		}
		if merr := os.Mkdir(dir, 0o755); merr != nil {
			err = errors.Join(err, fmt.Errorf("making %s: %w", dir, merr))
			continue
		}
		cg.dirs[c] = dir
	}
	if err == nil && l.MemoryBytes > 0 {
		v := strconv.FormatInt(l.MemoryBytes, 10)
		err = writeFile(cg.dirs["memory"], "memory.limit_in_bytes", v)
		// Without swap accounting the file is missing; with it, memory+swap gets the same
		// limit so that swapping does not extend the budget.
		if _, serr := os.Stat(filepath.Join(cg.dirs["memory"], "memory.memsw.limit_in_bytes")); serr == nil && err == nil {
			err = writeFile(cg.dirs["memory"], "memory.memsw.limit_in_bytes", v)
		}
	}
	if err == nil && l.MaxProcesses > 0 {
		err = writeFile(cg.dirs["pids"], "pids.max", strconv.Itoa(l.MaxProcesses))
	}
	if err == nil && l.CPUs > 0 && cg.dirs["cpu"] != "" {
		err = errors.Join(writeFile(cg.dirs["cpu"], "cpu.cfs_period_us", "100000"),
			writeFile(cg.dirs["cpu"], "cpu.cfs_quota_us", strconv.FormatInt(int64(l.CPUs*100000), 10)))
		cg.cpuMax = err == nil
	}
	if err != nil {
		cg.close()
		return nil, err
	}
	return cg, nil
}

type cgroupV1 struct {
	dirs   map[string]string // controller -> the build's directory
	cpuMax bool
}

func (c *cgroupV1) hasDir(dir string) bool {
	for _, d := range c.dirs {
		if d == dir {
			return true
		}
	}
	return false
}

func (c *cgroupV1) name() string { return "cgroup v1" }

func (c *cgroupV1) describe(l Limits) string {
	if l.CPUs > 0 && !c.cpuMax {
		l.CPUs = 0
	}
	return "cgroup v1 for the whole build (" + limitsText(l) + ")"
}

func (c *cgroupV1) join(pid int) error {
	done := map[string]bool{}
	for _, dir := range c.dirs {
		if done[dir] {
			continue
		}
		done[dir] = true
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (c *cgroupV1) sample() usageSample {
	mem := c.dirs["memory"]
	stat := readKeyed(mem, "memory.stat")
	ws := readInt(mem, "memory.usage_in_bytes") - stat["total_inactive_file"]
	s := usageSample{
		Memory:    max(ws, 0),
		Processes: int(readInt(c.dirs["pids"], "pids.current")),
		OOMKills:  readKeyed(mem, "memory.oom_control")["oom_kill"],
		PidsMax:   readKeyed(c.dirs["pids"], "pids.events")["max"],
	}
	if d := c.dirs["cpuacct"]; d != "" {
		s.CPU = time.Duration(readInt(d, "cpuacct.usage"))
	}
	return s
}

func (c *cgroupV1) countsProcesses() bool   { return true }
func (c *cgroupV1) countsCPU() bool         { return c.dirs["cpuacct"] != "" }
func (c *cgroupV1) kernelMemoryLimit() bool { return true }

func (c *cgroupV1) close() {
	for _, dir := range c.dirs {
		killCgroup(dir)
	}
	for _, dir := range c.dirs {
		removeDir(dir)
	}
}
