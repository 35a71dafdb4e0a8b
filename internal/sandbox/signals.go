package sandbox

import (
	"os"
	"syscall"
)

func unixSignalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGXCPU:
		return "SIGXCPU"
	case syscall.SIGXFSZ:
		return "SIGXFSZ"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGTRAP:
		return "SIGTRAP"
	}
	return s.String()
}

// cleanupTmp empties the build's TMPDIR and /dev/shm after a Run. It goes
// through os.Root so that links planted by the build cannot redirect it.
func cleanupTmp(ws string) {
	root, err := os.OpenRoot(ws)
	if err != nil {
		return
	}
	defer root.Close()
	for _, d := range []string{tmpRel, shmRel} {
		_ = root.RemoveAll(d)
	}
}
