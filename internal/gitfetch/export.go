package gitfetch

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Limits bound what Fetch receives and what Export writes (0 = no limit).
type Limits struct {
	MaxFiles     int
	MaxFileBytes int64
	MaxBytes     int64
}

// Stats describe an exported tree.
type Stats struct {
	Files   int
	Bytes   int64
	Skipped []string // human-readable notes on entries that were not written
}

// LimitError says which limit a pack (while it is fetched) or a tree (while it is exported)
// exceeded; its message names the setting.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// maxSymlinkHops bounds the resolution of symlink chains.
const maxSymlinkHops = 16

// Export writes the tree of commit into dir (which must exist and be empty), as regular files
// only. Symlinks to files inside the tree become copies of their target; symlinks that point
// outside the tree, at directories, or nowhere are skipped and reported; submodules are not
// fetched. Paths are checked again here because a hostile server can send any tree. Blobs are
// read one at a time as they are written (large ones streamed from the pack), so memory does
// not grow with the repository; the limits count what is written, which a pack's own check
// cannot (one blob may appear under many names).
func Export(commit *object.Commit, dir string, lim Limits) (Stats, error) {
	var st Stats
	tree, err := commit.Tree()
	if err != nil {
		return st, fmt.Errorf("read tree of %s: %w", commit.Hash, err)
	}
	files := map[string]treeEntry{}
	var order []string
	dirs := map[string]bool{".": true}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("walk tree: %w", err)
		}
		if !safeTreePath(name) {
			st.Skipped = append(st.Skipped, fmt.Sprintf("skipped %q: unsafe path", name))
			continue
		}
		switch e.Mode {
		case filemode.Dir:
			dirs[name] = true
			continue
		case filemode.Submodule:
			st.Skipped = append(st.Skipped, fmt.Sprintf("skipped submodule %s: submodules are not fetched", name))
			continue
		case filemode.Regular, filemode.Executable, filemode.Deprecated, filemode.Symlink:
		default:
			st.Skipped = append(st.Skipped, fmt.Sprintf("skipped %s: unsupported entry type %s", name, e.Mode))
			continue
		}
		files[name] = treeEntry{mode: e.Mode, entry: e}
		order = append(order, name)
		if lim.MaxFiles > 0 && len(order) > lim.MaxFiles {
			return st, &LimitError{Msg: fmt.Sprintf("repository has more files than the limit of %d (SKYDEPLOY_MAX_FILES)", lim.MaxFiles)}
		}
	}

	// resolve follows symlinks inside the tree; it returns the regular file a path ends at.
	var resolve func(p string, hops int) (string, error)
	resolve = func(p string, hops int) (string, error) {
		if hops > maxSymlinkHops {
			return "", errors.New("too many levels of symbolic links")
		}
		// Resolve each parent component that is a symlink, so a link through a linked
		// directory is judged where it really lands.
		parts := strings.Split(p, "/")
		cur := ""
		for i, part := range parts {
			next := path.Join(cur, part)
			if e, ok := files[next]; ok && e.mode == filemode.Symlink {
				target, err := linkTarget(tree, e)
				if err != nil {
					return "", err
				}
				if path.IsAbs(target) {
					return "", fmt.Errorf("points to absolute path %s", target)
				}
				joined := path.Join(path.Dir(next), target)
				if joined == ".." || strings.HasPrefix(joined, "../") {
					return "", fmt.Errorf("points outside the repository (%s)", target)
				}
				rest := strings.Join(parts[i+1:], "/")
				return resolve(path.Join(joined, rest), hops+1)
			}
			cur = next
		}
		if e, ok := files[cur]; ok && e.mode != filemode.Symlink {
			return cur, nil
		}
		if dirs[cur] {
			return "", errors.New("points to a directory")
		}
		return "", errors.New("points to nothing")
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return st, fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	for _, name := range order {
		e := files[name]
		src := e
		if e.mode == filemode.Symlink {
			target, err := resolve(name, 0)
			if err != nil {
				st.Skipped = append(st.Skipped, fmt.Sprintf("skipped symlink %s: %v", name, err))
				continue
			}
			src = files[target]
		}
		f, err := tree.TreeEntryFile(&src.entry)
		if err != nil {
			return st, fmt.Errorf("read %s: %w", name, err)
		}
		size := f.Size
		if lim.MaxFileBytes > 0 && size > lim.MaxFileBytes {
			return st, &LimitError{Msg: fmt.Sprintf("file %s is %d bytes, larger than the limit of %d (SKYDEPLOY_MAX_FILE_BYTES)", name, size, lim.MaxFileBytes)}
		}
		if lim.MaxBytes > 0 && st.Bytes+size > lim.MaxBytes {
			return st, &LimitError{Msg: fmt.Sprintf("repository files add up to more than the limit of %d bytes (SKYDEPLOY_MAX_REPO_BYTES)", lim.MaxBytes)}
		}
		if err := writeFile(root, name, f, e.mode == filemode.Executable || src.mode == filemode.Executable); err != nil {
			return st, err
		}
		st.Files++
		st.Bytes += size
	}
	return st, nil
}

// treeEntry is a file of the tree; its blob is read only when it is written.
type treeEntry struct {
	mode  filemode.FileMode
	entry object.TreeEntry
}

func writeFile(root *os.Root, name string, f *object.File, exec bool) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create directory %s: %w", d, err)
		}
	}
	perm := fs.FileMode(0o644)
	if exec {
		perm = 0o755
	}
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	r, err := f.Reader()
	if err != nil {
		out.Close()
		return fmt.Errorf("read %s: %w", name, err)
	}
	_, err = io.Copy(out, r)
	r.Close()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func linkTarget(tree *object.Tree, e treeEntry) (string, error) {
	f, err := tree.TreeEntryFile(&e.entry)
	if err != nil {
		return "", fmt.Errorf("read symlink: %w", err)
	}
	if f.Size > 4096 {
		return "", errors.New("symlink target is too long")
	}
	s, err := f.Contents()
	if err != nil {
		return "", fmt.Errorf("read symlink: %w", err)
	}
	return s, nil
}

// safeTreePath reports whether a path from a git tree is relative, clean and free of
// components that could escape or confuse the workspace.
func safeTreePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") || len(p) > 4096 {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") {
			return false
		}
	}
	return true
}
