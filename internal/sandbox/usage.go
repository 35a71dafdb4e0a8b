package sandbox

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/skydeploy/skydeploy/internal/bytesize"
)

// usage is what a walk of the workspace found.
type usage struct {
	Bytes       int64  // disk usage (allocated blocks), hard links counted once
	Files       int    // entries that are not directories
	LargestFile int64  // apparent size of the largest regular file
	LargestPath string // its path
}

// errStopWalk ends a usage walk early once a limit is known to be exceeded.
var errStopWalk = fmt.Errorf("stop walk")

// measure walks dir without following symbolic links. It stops early, with
// the usage found so far, as soon as any of the given limits (0 = none) is
// exceeded or ctx is done. Entries that vanish during the walk are ignored.
func measure(ctx context.Context, dir string, l Limits) usage {
	var u usage
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: skip
		}
		if ctx.Err() != nil {
			return errStopWalk
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		if st != nil && st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		if st != nil {
			u.Bytes += st.Blocks * 512
		} else {
			u.Bytes += info.Size()
		}
		if !d.IsDir() {
			u.Files++
		}
		if info.Mode().IsRegular() && info.Size() > u.LargestFile {
			u.LargestFile, u.LargestPath = info.Size(), path
		}
		if (l.MaxWorkspaceBytes > 0 && u.Bytes > l.MaxWorkspaceBytes) ||
			(l.MaxFiles > 0 && u.Files > l.MaxFiles) ||
			(l.MaxFileBytes > 0 && u.LargestFile > l.MaxFileBytes) {
			return errStopWalk
		}
		return nil
	})
	return u
}

// check returns the LimitError for the first limit u exceeds, or nil.
func (u usage) check(l Limits) *LimitError {
	switch {
	case l.MaxWorkspaceBytes > 0 && u.Bytes > l.MaxWorkspaceBytes:
		return limitErr(LimitDisk, bytesize.Format(l.MaxWorkspaceBytes))
	case l.MaxFileBytes > 0 && u.LargestFile > l.MaxFileBytes:
		return limitErr(LimitFileSize, bytesize.Format(l.MaxFileBytes))
	case l.MaxFiles > 0 && u.Files > l.MaxFiles:
		return limitErr(LimitFileCount, fmt.Sprintf("%d files", l.MaxFiles))
	}
	return nil
}

// chownTree gives dir and everything in it to uid:gid, never following links.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("sandbox: giving %s to the build user: %w", path, err)
		}
		return nil
	})
}

// reachable reports whether uid/gid can traverse every directory above dir, so
// that the build user can reach the workspace. It returns the first blocking
// directory.
func reachable(dir string, uid, gid int) (bool, string) {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return false, p
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		m := info.Mode().Perm()
		okDir := m&0o001 != 0 ||
			(ok && int(st.Uid) == uid && m&0o100 != 0) ||
			(ok && int(st.Gid) == gid && m&0o010 != 0)
		if !okDir {
			return false, p
		}
		if p == "/" || p == filepath.Dir(p) {
			return true, ""
		}
	}
}
