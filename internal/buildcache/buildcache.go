// Package buildcache packs a build's dependency directories (node_modules,
// package-manager caches) from a workspace into a bounded tar.gz archive and
// restores such an archive into a later workspace without trusting it.
//
// It is pure file-level code: storing archives (S3 or elsewhere) and deciding
// which directories to cache are the caller's business. Archives are keyed by
// Key: installed dependencies by the scope, the package manager, the
// lockfile's and manifests' content, the node major version and the machine
// architecture, so they are only reused when the installed tree would be the
// same; download caches by everything but the lockfile and manifests. It must
// never depend on Temporal, Redis, object storage or another SkyDeploy package.
//
// Restore treats the archive as hostile: entry names must be relative, clean
// and inside one of the directories being restored; only directories, regular
// files and symbolic links whose targets stay inside the workspace are
// accepted (anything else, hard links and device files included, fails the
// restore); permissions are reduced to rwx bits (no setuid/setgid/sticky);
// links are created only after every file, and nothing is ever written
// through a link; total size and file count are bounded. All file system
// access goes through os.Root, confined to the workspace.
package buildcache

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Kinds of archives: what a cache holds decides what its key depends on.
const (
	// KindDeps is installed dependencies (node_modules): only valid for the exact lockfile
	// and package manifests they were installed from.
	KindDeps = "deps"
	// KindDownloads is the package manager's own download cache (npm's cache, yarn's, pnpm's
	// store): valid whatever the lockfile, so installs without one reuse their downloads.
	KindDownloads = "downloads"
)

// KeyInput is what a cache archive depends on.
type KeyInput struct {
	Scope          string // whose cache: the project and trust tier (see package activities)
	Kind           string // KindDeps or KindDownloads
	PackageManager string // npm, yarn, pnpm, bun...
	Lockfile       []byte // content of the lockfile (KindDeps; nil if none)
	// Manifests are the package.json files the install read (KindDeps): their scripts run at
	// install, so a changed manifest must not reuse a tree installed under the old one.
	Manifests [][]byte
	NodeMajor int    // major version of node used to install
	Arch      string // GOOS/GOARCH of the worker; default runtime.GOOS+"/"+runtime.GOARCH
}

// Key returns a hex SHA-256 identifying a cache archive for in.
func Key(in KeyInput) string {
	if in.Arch == "" {
		in.Arch = runtime.GOOS + "/" + runtime.GOARCH
	}
	h := sha256.New()
	write := func(f string) {
		// Length-prefixed so that no two inputs hash the same bytes.
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	for _, f := range []string{"skydeploy-buildcache-v2", in.Scope, in.Kind, in.PackageManager, strconv.Itoa(in.NodeMajor), in.Arch} {
		write(f)
	}
	if in.Kind != KindDownloads {
		lock := sha256.Sum256(in.Lockfile)
		write(hex.EncodeToString(lock[:]))
		write(strconv.Itoa(len(in.Manifests)))
		for _, m := range in.Manifests {
			sum := sha256.Sum256(m)
			write(hex.EncodeToString(sum[:]))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Fingerprint summarises the content of dirs (workspace-relative; missing ones count as
// empty) cheaply: the number of entries, their total size and the newest modification time.
// Two equal fingerprints mean, for a download cache that only ever grows, nothing was added.
func Fingerprint(workspace string, dirs []string) string {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return ""
	}
	defer root.Close()
	var n, size int64
	var newest time.Time
	for _, d := range dirs {
		d, err := cleanDir(d)
		if err != nil {
			continue
		}
		_ = fs.WalkDir(root.FS(), d, func(name string, de fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			info, err := de.Info()
			if err != nil {
				return nil
			}
			n++
			if info.Mode().IsRegular() {
				size += info.Size()
			}
			if info.ModTime().After(newest) {
				newest = info.ModTime()
			}
			return nil
		})
	}
	return fmt.Sprintf("%d/%d/%d", n, size, newest.UnixNano())
}

// TooLargeError reports that an archive (packed, or being restored) is over its
// size or file-count bound.
type TooLargeError struct {
	What  string // "archive size", "restored size" or "file count"
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("build cache: %s exceeds the limit of %d", e.What, e.Limit)
}

// UnsafeEntryError reports an archive entry Restore refuses.
type UnsafeEntryError struct {
	Name   string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("build cache: refusing archive entry %q: %s", e.Name, e.Reason)
}

// Stats counts what Pack or Restore handled.
type Stats struct {
	Files    int   // regular files
	Dirs     int   // directories
	Symlinks int   // symbolic links
	Skipped  int   // entries left out by Pack (special files, links out of the workspace)
	Bytes    int64 // bytes of file content (uncompressed)
}

// Limits bounds Pack and Restore; zero means unlimited.
type Limits struct {
	MaxArchiveBytes int64 // Pack: compressed archive size
	MaxBytes        int64 // Restore (and Pack): total uncompressed file content
	MaxFiles        int   // entries of any type
}

// cleanDir validates a workspace-relative directory name.
func cleanDir(d string) (string, error) {
	if d == "" || strings.ContainsRune(d, 0) || path.IsAbs(d) || strings.Contains(d, "\\") {
		return "", fmt.Errorf("build cache: bad directory %q", d)
	}
	c := path.Clean(d)
	if c != d || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("build cache: bad directory %q", d)
	}
	return c, nil
}

// countingWriter counts bytes and fails past max.
type countingWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.max > 0 && c.n+int64(len(p)) > c.max {
		return 0, &TooLargeError{What: "archive size", Limit: c.max}
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Pack writes a tar.gz of the given workspace-relative directories to w.
// Missing directories are skipped. Regular files, directories and symbolic
// links whose target stays inside the workspace are stored; other entries are
// skipped and counted. It fails with *TooLargeError as soon as a bound is
// exceeded, in which case what was written to w must be discarded.
func Pack(workspace string, dirs []string, w io.Writer, lim Limits) (Stats, error) {
	var st Stats
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return st, fmt.Errorf("build cache: %w", err)
	}
	defer root.Close()
	cw := &countingWriter{w: w, max: lim.MaxArchiveBytes}
	// BestSpeed: node_modules compresses well enough, and packing time is on the build's path.
	gz, _ := gzip.NewWriterLevel(cw, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	fsys := root.FS()
	entries := 0
	for _, d := range dirs {
		d, err := cleanDir(d)
		if err != nil {
			return st, err
		}
		if fi, err := root.Lstat(d); err != nil || !fi.IsDir() {
			continue // absent (or not a real directory): nothing to cache
		}
		err = fs.WalkDir(fsys, d, func(name string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			entries++
			if lim.MaxFiles > 0 && entries > lim.MaxFiles {
				return &TooLargeError{What: "file count", Limit: int64(lim.MaxFiles)}
			}
			info, err := de.Info()
			if err != nil {
				return err
			}
			hdr := &tar.Header{
				Name:    name,
				Mode:    int64(info.Mode().Perm() & 0o755),
				ModTime: info.ModTime().Truncate(time.Second),
				Format:  tar.FormatPAX,
			}
			switch t := de.Type(); {
			case t.IsDir():
				hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
				st.Dirs++
				return tw.WriteHeader(hdr)
			case t&fs.ModeSymlink != 0:
				target, err := root.Readlink(name)
				if err != nil {
					return err
				}
				if !linkInside(name, target) {
					st.Skipped++
					return nil
				}
				hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
				st.Symlinks++
				return tw.WriteHeader(hdr)
			case t.IsRegular():
				if lim.MaxBytes > 0 && st.Bytes+info.Size() > lim.MaxBytes {
					return &TooLargeError{What: "restored size", Limit: lim.MaxBytes}
				}
				f, err := root.OpenFile(name, os.O_RDONLY|syscallNoFollow, 0)
				if err != nil {
					return err
				}
				defer f.Close()
				hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
				if err := tw.WriteHeader(hdr); err != nil {
					return err
				}
				n, err := io.CopyN(tw, f, info.Size())
				st.Bytes += n
				st.Files++
				if err != nil {
					return fmt.Errorf("build cache: reading %s: %w", name, err)
				}
				return nil
			default:
				st.Skipped++
				return nil
			}
		})
		if err != nil {
			return st, err
		}
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	if err := gz.Close(); err != nil {
		return st, err
	}
	return st, nil
}

// linkInside reports whether a link at name (slash path relative to the
// workspace) with the given target stays inside the workspace, lexically.
func linkInside(name, target string) bool {
	if target == "" || path.IsAbs(target) || strings.ContainsRune(target, 0) {
		return false
	}
	j := path.Join(path.Dir(name), target)
	return j != ".." && !strings.HasPrefix(j, "../")
}

// Restore extracts a tar.gz made by Pack into workspace, accepting only
// entries inside dirs (workspace-relative). The directories in dirs that did
// not exist before are removed again if Restore fails, so a failed restore
// leaves no partial cache behind.
func Restore(workspace string, dirs []string, r io.Reader, lim Limits) (st Stats, err error) {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return st, fmt.Errorf("build cache: %w", err)
	}
	defer root.Close()
	var allowed, fresh []string
	for _, d := range dirs {
		d, err := cleanDir(d)
		if err != nil {
			return st, err
		}
		allowed = append(allowed, d)
		if _, err := root.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			fresh = append(fresh, d)
		}
	}
	defer func() {
		if err != nil {
			for _, d := range fresh {
				_ = root.RemoveAll(d)
			}
		}
	}()

	gz, err := gzip.NewReader(r)
	if err != nil {
		return st, fmt.Errorf("build cache: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	type link struct{ name, target string }
	var links []link
	entries := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("build cache: reading archive: %w", err)
		}
		entries++
		if lim.MaxFiles > 0 && entries > lim.MaxFiles {
			return st, &TooLargeError{What: "file count", Limit: int64(lim.MaxFiles)}
		}
		name, err := entryName(hdr.Name, allowed)
		if err != nil {
			return st, err
		}
		perm := fs.FileMode(hdr.Mode).Perm() & 0o755
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := safeParents(root, name, true); err != nil {
				return st, err
			}
			if err := root.MkdirAll(name, 0o755); err != nil {
				return st, fmt.Errorf("build cache: %w", err)
			}
			st.Dirs++
		case tar.TypeReg:
			if hdr.Size < 0 || (lim.MaxBytes > 0 && st.Bytes+hdr.Size > lim.MaxBytes) {
				return st, &TooLargeError{What: "restored size", Limit: lim.MaxBytes}
			}
			if err := safeParents(root, name, false); err != nil {
				return st, err
			}
			if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
				return st, fmt.Errorf("build cache: %w", err)
			}
			if fi, err := root.Lstat(name); err == nil {
				if fi.IsDir() {
					return st, &UnsafeEntryError{Name: hdr.Name, Reason: "file over a directory"}
				}
				if err := root.Remove(name); err != nil {
					return st, fmt.Errorf("build cache: %w", err)
				}
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscallNoFollow, perm|0o200)
			if err != nil {
				return st, fmt.Errorf("build cache: %w", err)
			}
			n, err := io.CopyN(f, tr, hdr.Size)
			cerr := f.Close()
			st.Bytes += n
			if err != nil {
				return st, fmt.Errorf("build cache: writing %s: %w", name, err)
			}
			if cerr != nil {
				return st, fmt.Errorf("build cache: writing %s: %w", name, cerr)
			}
			_ = root.Chmod(name, perm)
			if !hdr.ModTime.IsZero() {
				_ = root.Chtimes(name, hdr.ModTime, hdr.ModTime)
			}
			st.Files++
		case tar.TypeSymlink:
			if !linkInside(name, hdr.Linkname) {
				return st, &UnsafeEntryError{Name: hdr.Name, Reason: "link target " + strconv.Quote(hdr.Linkname) + " leaves the workspace"}
			}
			links = append(links, link{name, hdr.Linkname})
		default:
			return st, &UnsafeEntryError{Name: hdr.Name, Reason: "entry type " + strconv.Quote(string(hdr.Typeflag)) + " is not allowed"}
		}
	}
	// Links last, deepest first irrelevant: nothing is written through them.
	sort.Slice(links, func(i, j int) bool { return links[i].name < links[j].name })
	for _, l := range links {
		if err := safeParents(root, l.name, false); err != nil {
			return st, err
		}
		if err := root.MkdirAll(path.Dir(l.name), 0o755); err != nil {
			return st, fmt.Errorf("build cache: %w", err)
		}
		if fi, err := root.Lstat(l.name); err == nil {
			if fi.IsDir() {
				return st, &UnsafeEntryError{Name: l.name, Reason: "link over a directory"}
			}
			if err := root.Remove(l.name); err != nil {
				return st, fmt.Errorf("build cache: %w", err)
			}
		}
		if err := root.Symlink(l.target, l.name); err != nil {
			return st, fmt.Errorf("build cache: %w", err)
		}
		st.Symlinks++
	}
	return st, nil
}

// entryName validates an archive name and returns it cleaned (no trailing
// slash). It must lie inside one of allowed.
func entryName(name string, allowed []string) (string, error) {
	n := strings.TrimSuffix(name, "/")
	if n == "" || strings.ContainsRune(n, 0) || path.IsAbs(n) || strings.Contains(n, "\\") {
		return "", &UnsafeEntryError{Name: name, Reason: "not a clean relative path"}
	}
	if path.Clean(n) != n {
		return "", &UnsafeEntryError{Name: name, Reason: "not a clean relative path"}
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." || part == "." {
			return "", &UnsafeEntryError{Name: name, Reason: "contains " + part}
		}
	}
	for _, a := range allowed {
		if n == a || strings.HasPrefix(n, a+"/") {
			return n, nil
		}
	}
	return "", &UnsafeEntryError{Name: name, Reason: "outside the cached directories"}
}

// safeParents fails if any existing ancestor of name (and name itself when
// self is set) inside the workspace is a symbolic link or not a directory, so
// that nothing is written through a link.
func safeParents(root *os.Root, name string, self bool) error {
	parts := strings.Split(name, "/")
	end := len(parts) - 1
	if self {
		end = len(parts)
	}
	for i := 1; i <= end; i++ {
		p := strings.Join(parts[:i], "/")
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("build cache: %w", err)
		}
		if !fi.IsDir() {
			return &UnsafeEntryError{Name: name, Reason: p + " is not a directory"}
		}
	}
	return nil
}
