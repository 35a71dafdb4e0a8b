package uploads

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/api"
)

const sha1 = "1111111111111111111111111111111111111111111111111111111111111111"
const sha2 = "2222222222222222222222222222222222222222222222222222222222222222"

// file is a file whose content is named after its path (so files differ unless told).
func file(p string, size int64) api.UploadFile {
	sum := sha256.Sum256([]byte(p))
	return api.UploadFile{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: size, Mode: api.ModeFile}
}

func TestCheckPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"index.html": true, "assets/app.js": true, ".well-known/security.txt": true, "a/.gitignore": true, "my.git/x": true,
		"": false, "/etc/passwd": false, "../x": false, "a/../../x": false, "a/./b": false, "a//b": false, "a/": false,
		`a\b`: false, "a\x00b": false, ".git/config": false, "sub/.GIT/HEAD": false, ".git": false,
		strings.Repeat("a", MaxPathBytes+1): false,
	} {
		if err := CheckPath(p); (err == nil) != ok {
			t.Errorf("CheckPath(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

// sameAs is f under another path.
func sameAs(f api.UploadFile, p string) api.UploadFile {
	f.Path = p
	return f
}

func TestCheck(t *testing.T) {
	lim := Limits{MaxBytes: 100, MaxFiles: 4, MaxFileBytes: 60}
	exe := file("run.sh", 1)
	exe.Mode = api.ModeExecutable
	other := file("b.css", 5)
	other.SHA256 = sha2
	for _, tc := range []struct {
		name  string
		files []api.UploadFile
		want  string // "" = accepted
		limit bool
	}{
		{"ok", []api.UploadFile{file("index.html", 10), other, exe, sameAs(other, "copy.css")}, "", false},
		{"none", nil, "no files", false},
		{"too many", []api.UploadFile{file("a", 1), file("b", 1), file("c", 1), file("d", 1), file("e", 1)}, "5 files, more than the limit of 4 (SKYDEPLOY_MAX_FILES)", true},
		{"large file", []api.UploadFile{file("big.bin", 61)}, "big.bin is 61 B, larger than the limit of 60 B for one file (SKYDEPLOY_MAX_FILE_BYTES)", true},
		{"total", []api.UploadFile{file("a", 60), file("b", 50)}, "add up to 110 B, more than the limit of 100 B (SKYDEPLOY_MAX_REPO_BYTES)", true},
		{"twice", []api.UploadFile{file("a", 1), file("a", 1)}, "a is listed twice", false},
		{"file and dir", []api.UploadFile{file("a", 1), file("a/b", 1)}, "a is a file, but a/b needs it to be a directory", false},
		{"bad hash", []api.UploadFile{{Path: "a", SHA256: strings.Repeat("AB", 32), Size: 1, Mode: api.ModeFile}}, "lower-case hex", false},
		{"short hash", []api.UploadFile{{Path: "a", SHA256: "abc", Size: 1, Mode: api.ModeFile}}, "lower-case hex", false},
		{"bad mode", []api.UploadFile{{Path: "a", SHA256: sha1, Size: 1, Mode: 0o4755}}, "neither 644 nor 755", false},
		{"negative", []api.UploadFile{file("a", -1)}, "negative size", false},
		{"sizes disagree", []api.UploadFile{file("a", 1), sameAs(file("a", 2), "b")}, "declares 2 bytes for content", false},
		{"unsafe", []api.UploadFile{file("../etc/passwd", 1)}, "not a clean relative path", false},
		{".git", []api.UploadFile{file(".git/hooks/post-checkout", 1)}, ".git directory", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tot, err := Check(tc.files, lim)
			if tc.want == "" {
				if err != nil || tot.Files != 4 || tot.Bytes != 21 || tot.Contents != 3 {
					t.Fatalf("Check = %+v, %v", tot, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want an error saying %q", err, tc.want)
			}
			var le *LimitError
			if errors.As(err, &le) != tc.limit {
				t.Errorf("%v: a LimitError: %v, want %v", err, !tc.limit, tc.limit)
			}
		})
	}
}

func TestContentsAndIDs(t *testing.T) {
	other := file("b", 5)
	other.SHA256 = sha2
	a := file("a", 3)
	a.SHA256 = sha1
	got := Contents([]api.UploadFile{other, a, sameAs(a, "c")})
	if len(got) != 2 || got[0] != (Content{SHA256: sha1, Size: 3}) || got[1] != (Content{SHA256: sha2, Size: 5}) {
		t.Errorf("Contents = %+v", got)
	}
	id := NewID()
	if !ValidID(id) || id == NewID() {
		t.Errorf("NewID = %q", id)
	}
	for _, bad := range []string{"", "u123", "../manifests/x", "U0123456789abcdef01234567", "u0123456789abcdef0123456g"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
	m := &Manifest{ID: id, Files: []api.UploadFile{a}}
	data, _ := m.Encode()
	back, err := ParseManifest(data)
	if err != nil || back.ID != id || len(back.Files) != 1 || back.Files[0] != m.Files[0] {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if _, err := ParseManifest([]byte("{")); err == nil {
		t.Error("a broken manifest parsed")
	}
}
