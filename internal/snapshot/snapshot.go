// Package snapshot packs a directory of regular files into a tar.gz and unpacks one safely:
// the format SkyDeploy uses to hand source trees and build output between workers through
// object storage. Writer is its one writer: Pack uses it for source snapshots, the build
// activity for build output (which it walks itself, through the sandbox's link rules).
//
// Unpack trusts nothing in the archive: absolute paths, `..`, links, devices and anything over
// the limits are refused. It must never depend on storage clients, Temporal or Redis.
package snapshot

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Limits bound what Unpack writes.
type Limits struct {
	MaxFiles     int
	MaxFileBytes int64
	MaxBytes     int64
}

// LimitError says which limit an archive exceeded.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// UnsafeError says an archive entry was refused.
type UnsafeError struct{ Msg string }

func (e *UnsafeError) Error() string { return e.Msg }

// Stats count what was packed or unpacked.
type Stats struct {
	Files int
	Bytes int64
}

// Writer writes the archive format: a gzip-compressed PAX tar of regular files, each with mode
// 0644, or 0755 when executable. Nothing else (directories, links, owners, times) is recorded,
// so an archive depends only on the files' paths, contents and executable bits.
type Writer struct {
	gz *gzip.Writer
	tw *tar.Writer
}

// NewWriter starts an archive on w; Close finishes it.
func NewWriter(w io.Writer) *Writer {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return &Writer{gz: gz, tw: tar.NewWriter(gz)}
}

// Add writes a regular file at the relative slash path rel with exactly size bytes from r.
func (w *Writer) Add(rel string, r io.Reader, size int64, executable bool) error {
	mode := int64(0o644)
	if executable {
		mode = 0o755
	}
	if err := w.tw.WriteHeader(&tar.Header{Name: rel, Mode: mode, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("tar header %s: %w", rel, err)
	}
	if _, err := io.CopyN(w.tw, r, size); err != nil {
		return fmt.Errorf("tar %s: %w", rel, err)
	}
	return nil
}

// Close finishes the tar and gzip streams (it does not close the underlying writer).
func (w *Writer) Close() error {
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	if err := w.gz.Close(); err != nil {
		return fmt.Errorf("finish gzip: %w", err)
	}
	return nil
}

// Pack writes the regular files under dir to w as an archive, in sorted order so the same tree
// packs to the same bytes. skip, when not nil, names relative paths to leave out (a directory
// skips everything below it). Symlinks and other non-regular files are an error: callers
// resolve them before packing.
func Pack(w io.Writer, dir string, skip func(rel string, isDir bool) bool) (Stats, error) {
	var st Stats
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if skip != nil && skip(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return &UnsafeError{Msg: fmt.Sprintf("%s is not a regular file (%s)", rel, d.Type())}
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("walk %s: %w", dir, err)
	}
	sort.Strings(paths)
	aw := NewWriter(w)
	for _, rel := range paths {
		if err := addFile(aw, dir, rel, &st); err != nil {
			return st, err
		}
	}
	return st, aw.Close()
}

func addFile(aw *Writer, dir, rel string, st *Stats) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("open %s: %w", rel, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	if err := aw.Add(rel, f, info.Size(), info.Mode()&0o111 != 0); err != nil {
		return err
	}
	st.Files++
	st.Bytes += info.Size()
	return nil
}

// Unpack extracts a Pack archive from r into dir, which must exist.
func Unpack(r io.Reader, dir string, lim Limits) (Stats, error) {
	var st Stats
	gz, err := gzip.NewReader(r)
	if err != nil {
		return st, fmt.Errorf("open gzip: %w", err)
	}
	defer gz.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return st, fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("read tar: %w", err)
		}
		name := hdr.Name
		if !SafeRelPath(name) {
			return st, &UnsafeError{Msg: fmt.Sprintf("archive entry %q has an unsafe path", name)}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return st, fmt.Errorf("create %s: %w", name, err)
			}
			continue
		case tar.TypeReg:
		default:
			return st, &UnsafeError{Msg: fmt.Sprintf("archive entry %q is not a regular file", name)}
		}
		if lim.MaxFiles > 0 && st.Files >= lim.MaxFiles {
			return st, &LimitError{Msg: fmt.Sprintf("more files than the limit of %d (SKYDEPLOY_MAX_FILES)", lim.MaxFiles)}
		}
		if lim.MaxFileBytes > 0 && hdr.Size > lim.MaxFileBytes {
			return st, &LimitError{Msg: fmt.Sprintf("file %s is %d bytes, larger than the limit of %d (SKYDEPLOY_MAX_FILE_BYTES)", name, hdr.Size, lim.MaxFileBytes)}
		}
		if lim.MaxBytes > 0 && st.Bytes+hdr.Size > lim.MaxBytes {
			return st, &LimitError{Msg: fmt.Sprintf("files add up to more than the limit of %d bytes", lim.MaxBytes)}
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return st, fmt.Errorf("create %s: %w", d, err)
			}
		}
		perm := fs.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			perm = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		if err != nil {
			return st, fmt.Errorf("create %s: %w", name, err)
		}
		n, err := io.Copy(f, io.LimitReader(tr, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return st, fmt.Errorf("write %s: %w", name, err)
		}
		st.Files++
		st.Bytes += n
	}
}

// SafeRelPath reports whether p is a clean relative slash path with no component that could
// leave the directory it is joined to.
func SafeRelPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") || len(p) > 4096 {
		return false
	}
	for _, part := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}
