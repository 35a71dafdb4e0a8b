package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// SafeOutputWalk walks the build output directory root in lexical order and
// calls fn for every regular file with its slash-separated path relative to
// root and its FileInfo. It never leaves root:
//
//   - a symbolic link whose target is absolute, climbs out of root, or cannot
//     be resolved inside root ends the walk with an *UnsafePathError;
//   - a symbolic link to a regular file inside root is reported to fn under
//     the link's own path, with the FileInfo of its target (open it with
//     os.OpenInRoot(root, rel), which refuses escapes, never with a plain
//     os.Open of a joined path);
//   - a symbolic link to a directory inside root, or a dangling in-tree link,
//     is skipped (the directory's files are reported at their real path);
//   - devices, sockets, named pipes and other special files are skipped.
//
// An error returned by fn ends the walk and is returned; fs.SkipDir from fn is
// not supported (fn only sees files). Call it only once no build process can
// still change the tree.
func SafeOutputWalk(root string, fn func(rel string, info fs.FileInfo) error) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("output walk: %w", err)
	}
	defer r.Close()
	return fs.WalkDir(r.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("output walk: %w", err)
		}
		if rel == "." {
			return nil
		}
		t := d.Type()
		switch {
		case t.IsDir():
			return nil
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("output walk: %w", err)
			}
			return fn(rel, info)
		case t&fs.ModeSymlink != 0:
			target, err := r.Readlink(rel)
			if err != nil {
				return fmt.Errorf("output walk: %w", err)
			}
			if path.IsAbs(target) || strings.HasPrefix(target, "/") {
				return &UnsafePathError{Path: rel, Target: target, Reason: "is an absolute link"}
			}
			if lex := path.Join(path.Dir(rel), target); lex == ".." || strings.HasPrefix(lex, "../") {
				return &UnsafePathError{Path: rel, Target: target}
			}
			// Resolve with the kernel's semantics (links inside the target,
			// ".." after a link) but confined to root.
			info, err := r.Stat(rel)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // dangling inside the tree: nothing to publish
				}
				return &UnsafePathError{Path: rel, Target: target, Reason: "cannot be resolved inside the output directory (" + err.Error() + ")"}
			}
			if info.Mode().IsRegular() {
				return fn(rel, info)
			}
			return nil
		default:
			return nil // device, socket, fifo, ...
		}
	})
}
