package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// markerVar is set, with a value unique to one Run, in the environment of every
// build. Processes that left the build's process group (setsid, nohup, double
// fork) still carry it, so killMarked finds them in /proc.
const markerVar = "SKYDEPLOY_SANDBOX_RUN"

// killGroup signals the process group pgid (ignoring "no such process").
func killGroup(pgid int, sig syscall.Signal) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, sig)
	}
}

// killMarked sends sig to every process whose environment contains
// markerVar=token, and returns how many it found. Reading another user's
// /proc/PID/environ needs to be that user or root, which is always the case
// for builds this package starts.
func killMarked(token string, sig syscall.Signal) int {
	needle := []byte(markerVar + "=" + token)
	self := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, needle) {
				_ = syscall.Kill(pid, sig)
				n++
				break
			}
		}
	}
	return n
}
