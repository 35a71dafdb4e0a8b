// Package localfolder reads a folder on the user's machine for `skydeploy deploy DIR`: which
// files to upload (honouring .gitignore and .skydeployignore files, never following a symlink
// out of the folder), their hashes, sizes and modes, checked against the gateway's limits
// before anything is sent; and the git checkout the folder belongs to, if any (git.go).
//
// Symlinks: a link to a file inside the folder is uploaded as that file's content under the
// link's name (as a clone's tree is exported); a link that leads out of the folder is an error
// naming it, so nothing outside the folder is ever read; links to directories, dangling links
// and special files are left out with a warning.
//
// It must never depend on Temporal, Redis, object storage, HTTP or any role package: it reads
// the local disk (and runs git) for the command-line client.
package localfolder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/uploads"
)

// IgnoreFiles are read in every directory of the folder, in this order (later wins): their
// patterns (gitignore syntax) apply to that directory and below. Ignore files above the folder
// do not apply: `skydeploy deploy dist` uploads dist even when the repository ignores it.
var IgnoreFiles = []string{".gitignore", ".skydeployignore"}

// DefaultIgnore are left out unless an ignore file re-includes them (`!node_modules`); the
// .skydeployignore files are the client's, not the site's. `.git` is always left out.
var DefaultIgnore = []string{"node_modules/", ".DS_Store", ".skydeployignore"}

// Options say how to read a folder.
type Options struct {
	// Limits are checked before any file is hashed (the gateway's, from GET /api/config).
	Limits uploads.Limits
	// Warn hears about entries left out for what they are (links to directories, dangling
	// links, sockets…); nil: they are left out silently.
	Warn func(string)
}

// File is one file to upload.
type File struct {
	api.UploadFile
	// Source is the slash path, inside the folder, whose content is uploaded: the file itself,
	// or the target of a symlink.
	Source string
}

// Folder is what Scan found.
type Folder struct {
	// Dir is the folder's absolute path, symlinks resolved.
	Dir   string
	Files []File
	Bytes int64
}

// Manifest is the folder's manifest for POST /api/uploads.
func (f *Folder) Manifest() []api.UploadFile {
	out := make([]api.UploadFile, len(f.Files))
	for i, file := range f.Files {
		out[i] = file.UploadFile
	}
	return out
}

// Open opens the file whose content is uploaded as path inside the folder (os.Root: nothing
// outside the folder can be opened, whatever happens to the folder meanwhile).
func (f *Folder) Open(source string) (*os.File, error) {
	root, err := os.OpenRoot(f.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(filepath.FromSlash(source))
}

// LinkError says a symlink leads out of the folder.
type LinkError struct {
	Path   string // inside the folder
	Target string // as the link says
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link to %s, outside the folder: refusing to upload it (delete it, or leave it out with .skydeployignore)", e.Path, e.Target)
}

// Scan lists the files of dir to upload, checks them against the limits, and hashes them.
func Scan(dir string, o Options) (*Folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", dir, err)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	w := &walker{root: real, warn: o.Warn}
	if w.warn == nil {
		w.warn = func(string) {}
	}
	var defaults []gitignore.Pattern
	for _, p := range DefaultIgnore {
		defaults = append(defaults, gitignore.ParsePattern(p, nil))
	}
	if err := w.walk("", defaults); err != nil {
		return nil, err
	}
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	f := &Folder{Dir: real, Files: w.files}
	if err := checkLimits(f, o.Limits); err != nil {
		return nil, err
	}
	if err := f.hash(); err != nil {
		return nil, err
	}
	if _, err := uploads.Check(f.Manifest(), o.Limits); err != nil {
		return nil, err
	}
	return f, nil
}

// checkLimits checks the file count, each size and the total before hashing.
func checkLimits(f *Folder, lim uploads.Limits) error {
	if len(f.Files) == 0 {
		return errors.New("the folder has no files to deploy (are they all ignored?)")
	}
	if lim.MaxFiles > 0 && len(f.Files) > lim.MaxFiles {
		return uploads.TooManyFiles(len(f.Files), lim.MaxFiles)
	}
	for _, file := range f.Files {
		if lim.MaxFileBytes > 0 && file.Size > lim.MaxFileBytes {
			return uploads.FileTooLarge(file.Path, file.Size, lim.MaxFileBytes)
		}
		f.Bytes += file.Size
	}
	if lim.MaxBytes > 0 && f.Bytes > lim.MaxBytes {
		return uploads.TooManyBytes(f.Bytes, lim.MaxBytes)
	}
	return nil
}

type walker struct {
	root  string
	warn  func(string)
	files []File
}

func split(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// walk lists the directory rel (slash path, "" for the folder) with the patterns in force.
func (w *walker) walk(rel string, patterns []gitignore.Pattern) error {
	full := filepath.Join(w.root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(full)
	if err != nil {
		return fmt.Errorf("read %s: %w", displayDir(rel), err)
	}
	for _, name := range IgnoreFiles {
		ps, err := readIgnoreFile(filepath.Join(full, name), split(rel))
		if err != nil {
			return err
		}
		patterns = append(patterns[:len(patterns):len(patterns)], ps...)
	}
	m := gitignore.NewMatcher(patterns)
	for _, e := range entries {
		p := path.Join(rel, e.Name())
		if rel == "" {
			p = e.Name()
		}
		if strings.EqualFold(e.Name(), ".git") {
			continue
		}
		isDir := e.IsDir()
		if m.Match(split(p), isDir) {
			continue
		}
		switch t := e.Type(); {
		case isDir:
			if err := w.walk(p, patterns); err != nil {
				return err
			}
		case t.IsRegular():
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", p, err)
			}
			w.add(p, p, info)
		case t&fs.ModeSymlink != 0:
			if err := w.link(p); err != nil {
				return err
			}
		default:
			w.warn(fmt.Sprintf("left out %s: not a regular file (%s)", p, t))
		}
	}
	return nil
}

func (w *walker) add(p, source string, info fs.FileInfo) {
	mode := api.ModeFile
	if info.Mode()&0o111 != 0 {
		mode = api.ModeExecutable
	}
	w.files = append(w.files, File{UploadFile: api.UploadFile{Path: p, Size: info.Size(), Mode: mode}, Source: source})
}

// link adds the file a symlink at p points to, when it is a file inside the folder.
func (w *walker) link(p string) error {
	full := filepath.Join(w.root, filepath.FromSlash(p))
	target, err := os.Readlink(full)
	if err != nil {
		return fmt.Errorf("read link %s: %w", p, err)
	}
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		if !inside(w.root, absTarget(full, target)) {
			return &LinkError{Path: p, Target: target}
		}
		w.warn(fmt.Sprintf("left out %s: a symbolic link to %s, which does not exist", p, target))
		return nil
	}
	if !inside(w.root, resolved) {
		return &LinkError{Path: p, Target: target}
	}
	info, err := os.Stat(resolved)
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if !info.Mode().IsRegular() {
		w.warn(fmt.Sprintf("left out %s: a symbolic link to %s, which is not a file", p, target))
		return nil
	}
	rel, _ := filepath.Rel(w.root, resolved)
	w.add(p, filepath.ToSlash(rel), info)
	return nil
}

// absTarget is where a link at full pointing to target leads, lexically.
func absTarget(full, target string) string {
	if filepath.IsAbs(target) {
		return filepath.Clean(target)
	}
	return filepath.Join(filepath.Dir(full), target)
}

func inside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func displayDir(rel string) string {
	if rel == "" {
		return "the folder"
	}
	return rel
}

// readIgnoreFile reads the patterns of an ignore file (none when it does not exist), for the
// directory whose path components are domain.
func readIgnoreFile(file string, domain []string) ([]gitignore.Pattern, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps, nil
}

// hash fills in every file's SHA-256 (and its size as read), several files at once. A file
// read through a link is hashed once per link, which keeps the code simple.
func (f *Folder) hash() error {
	root, err := os.OpenRoot(f.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	jobs := make(chan int)
	errs := make([]error, len(f.Files))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				errs[i] = hashFile(root, &f.Files[i])
			}
		}()
	}
	for i := range f.Files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	f.Bytes = 0
	for i, err := range errs {
		if err != nil {
			return err
		}
		f.Bytes += f.Files[i].Size
	}
	return nil
}

func hashFile(root *os.Root, file *File) error {
	in, err := root.Open(filepath.FromSlash(file.Source))
	if err != nil {
		return fmt.Errorf("open %s: %w", file.Path, err)
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(h, in)
	if err != nil {
		return fmt.Errorf("read %s: %w", file.Path, err)
	}
	file.SHA256, file.Size = hex.EncodeToString(h.Sum(nil)), n
	return nil
}
