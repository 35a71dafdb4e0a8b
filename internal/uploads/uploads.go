// Package uploads holds the rules of folders deployed from the command line, in one place for
// the client that checks a folder before sending it, the gateway that enforces them and the
// activity that turns an upload into a source snapshot: which paths an uploaded file may have
// (the source snapshot's path-safety rules, plus no `.git`), the limits of a folder, the upload
// manifest stored in object storage, and upload ids.
//
// It must never depend on Temporal, Redis, object storage, HTTP or any role package: it is pure
// rules over internal/api's types (with internal/snapshot's path check and internal/bytesize).
package uploads

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/snapshot"
)

// MaxPathBytes bounds one uploaded path (the manifest's size grows with it).
const MaxPathBytes = 1024

// Limits bound an uploaded folder (0 = no limit). The gateway's are the repository limits.
type Limits struct {
	MaxBytes     int64 // SKYDEPLOY_MAX_REPO_BYTES
	MaxFiles     int   // SKYDEPLOY_MAX_FILES
	MaxFileBytes int64 // SKYDEPLOY_MAX_FILE_BYTES
}

// FromAPI converts the limits the gateway publishes.
func FromAPI(l api.UploadLimits) Limits {
	return Limits{MaxBytes: l.MaxBytes, MaxFiles: l.MaxFiles, MaxFileBytes: l.MaxFileBytes}
}

// API is the form GET /api/config publishes.
func (l Limits) API() api.UploadLimits {
	return api.UploadLimits{MaxBytes: l.MaxBytes, MaxFiles: l.MaxFiles, MaxFileBytes: l.MaxFileBytes}
}

// LimitError says which limit a folder exceeds; its message names the setting.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// InvalidError says a manifest is not acceptable (a path, a hash, a mode, a duplicate).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// TooManyFiles is the error of a folder with more than max files.
func TooManyFiles(n, max int) error {
	return &LimitError{Msg: fmt.Sprintf("the folder has %d files, more than the limit of %d (SKYDEPLOY_MAX_FILES)", n, max)}
}

// FileTooLarge is the error of a file larger than max bytes.
func FileTooLarge(path string, size, max int64) error {
	return &LimitError{Msg: fmt.Sprintf("%s is %s, larger than the limit of %s for one file (SKYDEPLOY_MAX_FILE_BYTES)", path, bytesize.Format(size), bytesize.Format(max))}
}

// TooManyBytes is the error of a folder whose files add up to more than max bytes.
func TooManyBytes(total, max int64) error {
	return &LimitError{Msg: fmt.Sprintf("the folder's files add up to %s, more than the limit of %s (SKYDEPLOY_MAX_REPO_BYTES)", bytesize.Format(total), bytesize.Format(max))}
}

// CheckPath reports why p cannot be the path of an uploaded file, or nil: it must be a clean
// relative slash path (the source snapshot's rules: no absolute path, no `..`, no empty or `.`
// component, no backslash or NUL), at most MaxPathBytes long, with no `.git` component.
func CheckPath(p string) error {
	if !snapshot.SafeRelPath(p) || strings.HasSuffix(p, "/") {
		return &InvalidError{Msg: fmt.Sprintf("path %q is not a clean relative path inside the folder", p)}
	}
	if len(p) > MaxPathBytes {
		return &InvalidError{Msg: fmt.Sprintf("path %.60q… is longer than %d bytes", p, MaxPathBytes)}
	}
	for _, part := range strings.Split(p, "/") {
		if strings.EqualFold(part, ".git") {
			return &InvalidError{Msg: fmt.Sprintf("path %q is inside a .git directory, which is never deployed", p)}
		}
	}
	return nil
}

var shaRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 reports whether s is a lower-case hex SHA-256.
func ValidSHA256(s string) bool { return shaRe.MatchString(s) }

// Totals are what a manifest adds up to.
type Totals struct {
	Files    int
	Bytes    int64
	Contents int // distinct SHA-256s
}

// Check validates a manifest against the limits: every path (CheckPath), hash and mode, no path
// twice, one size per content, no file where another file needs a directory ("a" and "a/b"),
// then the file count, the largest file and the total. Contents shared by several files count once per file, as
// they will in the snapshot.
func Check(files []api.UploadFile, lim Limits) (Totals, error) {
	var t Totals
	if lim.MaxFiles > 0 && len(files) > lim.MaxFiles {
		return t, TooManyFiles(len(files), lim.MaxFiles)
	}
	if len(files) == 0 {
		return t, &InvalidError{Msg: "the folder has no files to deploy"}
	}
	seen := make(map[string]bool, len(files))
	sizes := make(map[string]int64, len(files))
	for _, f := range files {
		if err := CheckPath(f.Path); err != nil {
			return t, err
		}
		if !ValidSHA256(f.SHA256) {
			return t, &InvalidError{Msg: fmt.Sprintf("%s: sha256 %q is not 64 lower-case hex digits", f.Path, f.SHA256)}
		}
		if f.Mode != api.ModeFile && f.Mode != api.ModeExecutable {
			return t, &InvalidError{Msg: fmt.Sprintf("%s: mode %o is neither 644 nor 755", f.Path, f.Mode)}
		}
		if f.Size < 0 {
			return t, &InvalidError{Msg: fmt.Sprintf("%s: negative size", f.Path)}
		}
		if seen[f.Path] {
			return t, &InvalidError{Msg: fmt.Sprintf("%s is listed twice", f.Path)}
		}
		seen[f.Path] = true
		if lim.MaxFileBytes > 0 && f.Size > lim.MaxFileBytes {
			return t, FileTooLarge(f.Path, f.Size, lim.MaxFileBytes)
		}
		if s, ok := sizes[f.SHA256]; ok && s != f.Size {
			return t, &InvalidError{Msg: fmt.Sprintf("%s declares %d bytes for content %s, which another file declares as %d", f.Path, f.Size, f.SHA256, s)}
		}
		sizes[f.SHA256] = f.Size
		t.Files++
		t.Bytes += f.Size
	}
	for _, f := range files {
		for dir := parent(f.Path); dir != ""; dir = parent(dir) {
			if seen[dir] {
				return t, &InvalidError{Msg: fmt.Sprintf("%s is a file, but %s needs it to be a directory", dir, f.Path)}
			}
		}
	}
	if lim.MaxBytes > 0 && t.Bytes > lim.MaxBytes {
		return t, TooManyBytes(t.Bytes, lim.MaxBytes)
	}
	t.Contents = len(sizes)
	return t, nil
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// Contents returns the distinct contents of files with their sizes, sorted by hash.
func Contents(files []api.UploadFile) []Content {
	sizes := map[string]int64{}
	for _, f := range files {
		sizes[f.SHA256] = f.Size
	}
	out := make([]Content, 0, len(sizes))
	for sha, size := range sizes {
		out = append(out, Content{SHA256: sha, Size: size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SHA256 < out[j].SHA256 })
	return out
}

// Content is one distinct content of an upload.
type Content struct {
	SHA256 string
	Size   int64
}

// Manifest is what object storage keeps of an upload (storage.UploadManifestKey): its files,
// in the order given, and when it was made. A content's size must match every file naming it.
type Manifest struct {
	ID        string           `json:"id"`
	CreatedAt time.Time        `json:"createdAt"`
	Files     []api.UploadFile `json:"files"`
}

// Encode serialises m.
func (m *Manifest) Encode() ([]byte, error) { return json.Marshal(m) }

// ParseManifest reads a stored manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("upload manifest: %w", err)
	}
	return &m, nil
}

// SizeOf returns the declared size of content sha in the manifest, and whether it is there.
func (m *Manifest) SizeOf(sha string) (int64, bool) {
	for _, f := range m.Files {
		if f.SHA256 == sha {
			return f.Size, true
		}
	}
	return 0, false
}

// idRe is an upload id: "u" and 24 lower-case hex digits (96 random bits).
var idRe = regexp.MustCompile(`^u[0-9a-f]{24}$`)

// NewID returns a fresh upload id.
func NewID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return "u" + hex.EncodeToString(b[:])
}

// ValidID reports whether s is an upload id (so it may name an object key).
func ValidID(s string) bool { return idRe.MatchString(s) }
