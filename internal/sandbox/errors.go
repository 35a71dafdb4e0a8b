package sandbox

import (
	"fmt"
	"strconv"
)

// LimitError reports that a build was stopped (or failed) because it hit one of
// its limits. Limit is one of the Limit* constants, Value the configured limit
// in human-readable form and Setting the SKYDEPLOY_* variable that sets it
// (empty when no configuration variable maps to it directly).
type LimitError struct {
	Limit   string
	Value   string
	Setting string
}

// Names of limits, as found in LimitError.Limit.
const (
	LimitWallTime  = "wall time"
	LimitMemory    = "memory"
	LimitCPU       = "cpu time"
	LimitOutput    = "output size"
	LimitFileSize  = "file size"
	LimitFileCount = "file count"
	LimitDisk      = "disk usage"
	LimitProcesses = "process count"
	LimitEgress    = "egress bytes"
)

func (e *LimitError) Error() string {
	msg := fmt.Sprintf("build exceeded the %s limit of %s", e.Limit, e.Value)
	if e.Setting != "" {
		msg += " (" + e.Setting + ")"
	}
	return msg
}

// ExitError reports that the build command ended unsuccessfully on its own:
// a non-zero exit status, or death by a signal that no limit explains.
type ExitError struct {
	Code   int    // exit status; 128+n when killed by signal n
	Signal string // name of the signal that killed the command, if known
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return fmt.Sprintf("build command was killed by signal %s (exit status %d)", e.Signal, e.Code)
	}
	return "build command exited with status " + strconv.Itoa(e.Code)
}

// UnsafePathError reports a path in a build's output that must not be
// published: a symbolic link whose target lies outside the output root (or
// cannot be resolved safely inside it).
type UnsafePathError struct {
	Path   string // slash-separated, relative to the walked root
	Target string // the link's target as stored in the link
	Reason string
}

func (e *UnsafePathError) Error() string {
	r := e.Reason
	if r == "" {
		r = "points outside the output directory"
	}
	return fmt.Sprintf("unsafe path in build output: %s -> %s %s", e.Path, e.Target, r)
}

func limitErr(limit string, value string) *LimitError {
	e := &LimitError{Limit: limit, Value: value}
	switch limit {
	case LimitWallTime:
		e.Setting = "SKYDEPLOY_BUILD_TIMEOUT"
	case LimitMemory:
		e.Setting = "SKYDEPLOY_BUILD_MEMORY_BYTES"
	case LimitCPU:
		e.Setting = "SKYDEPLOY_BUILD_CPU_SECONDS"
	case LimitOutput:
		e.Setting = "SKYDEPLOY_BUILD_MAX_LOG_BYTES"
	case LimitFileSize:
		e.Setting = "SKYDEPLOY_MAX_FILE_BYTES"
	case LimitFileCount:
		e.Setting = "SKYDEPLOY_MAX_FILES"
	case LimitEgress:
		e.Setting = "SKYDEPLOY_BUILD_EGRESS_BYTES"
	}
	return e
}
