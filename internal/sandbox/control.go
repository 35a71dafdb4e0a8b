package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/skydeploy/skydeploy/internal/bytesize"
)

// resourceControl enforces and measures the memory, CPU and process limits of a build's whole
// process tree: a cgroup made for the build (v2, or v1's memory, pids, cpu and cpuacct
// controllers) where the worker can make one, else a watchdog that samples the build's
// processes in /proc. Which one is in force is written to the build log.
type resourceControl interface {
	// name is "cgroup v2", "cgroup v1" or "watchdog".
	name() string
	// describe says in one line what is enforced and how.
	describe(l Limits) string
	// join puts the build's first process in before it runs any build code.
	join(pid int) error
	// sample reads the build's current use.
	sample() usageSample
	// countsProcesses and countsCPU say whether processes and CPU time of the whole tree are
	// counted exactly (a cgroup), so that per-process rlimits are not needed as a backstop.
	countsProcesses() bool
	countsCPU() bool
	// kernelMemoryLimit says whether the kernel itself holds the build to the memory limit
	// (it kills a process of the build at the limit); otherwise the sampler stops the build.
	kernelMemoryLimit() bool
	// close kills whatever of the build is left and removes the cgroup.
	close()
}

// usageSample is a build's resource use at one moment.
type usageSample struct {
	Memory    int64         // working set: resident memory without reclaimable file cache
	Processes int           // tasks (threads) of the build
	CPU       time.Duration // CPU time used so far, children included
	OOMKills  int64         // processes the kernel killed at the memory limit
	PidsMax   int64         // forks refused at the process limit
}

// newResourceControl returns a cgroup for one build when the host lets the worker make one and
// mode allows it, else the watchdog; why says why the watchdog was chosen.
func newResourceControl(mode string, l Limits, uid int, marker bool, token string) (rc resourceControl, why string) {
	if mode == ControlWatchdog {
		return newWatchdog(uid, marker, token), "watchdog chosen by configuration (SKYDEPLOY_BUILD_CGROUPS=off)"
	}
	h, err := detectCgroups()
	if err == nil {
		var name [6]byte
		_, _ = rand.Read(name[:])
		var cg resourceControl
		cg, err = h.create("build-"+hex.EncodeToString(name[:]), l)
		if err == nil {
			return cg, ""
		}
	}
	return newWatchdog(uid, marker, token), fmt.Sprintf("no cgroup could be made for the build (%v)", err)
}

// CheckResourceControl reports at a worker's start how build limits will be enforced: it
// makes and removes one cgroup. The watchdog is a working fallback, so this never fails.
func CheckResourceControl(mode string) (mechanism, why string) {
	rc, why := newResourceControl(mode, Limits{MemoryBytes: 64 << 20, MaxProcesses: 64}, 0, false, "")
	defer rc.close()
	return rc.name(), why
}

// limitsText lists the whole-build limits for the build log.
func limitsText(l Limits) string {
	s := ""
	add := func(part string) {
		if s != "" {
			s += ", "
		}
		s += part
	}
	if l.MemoryBytes > 0 {
		add("memory " + bytesize.Format(l.MemoryBytes))
	}
	if l.MaxProcesses > 0 {
		add(fmt.Sprintf("%d processes", l.MaxProcesses))
	}
	if l.CPUSeconds > 0 {
		add(fmt.Sprintf("CPU time %ds", l.CPUSeconds))
	}
	if l.CPUs > 0 {
		add(fmt.Sprintf("%g CPUs", l.CPUs))
	}
	if s == "" {
		return "no memory, CPU or process limit"
	}
	return s
}
