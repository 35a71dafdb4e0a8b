package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/api"
)

func TestManifestBodyLimit(t *testing.T) {
	for files, want := range map[int]int64{0: maxBodyBytes, 100: maxBodyBytes, 50_000: 50_000 * 1184, 10_000_000: 256 << 20} {
		if got := manifestBodyLimit(files); got != want {
			t.Errorf("manifestBodyLimit(%d) = %d, want %d", files, got, want)
		}
	}
}

// TestReceiveContent: exactly the declared bytes with the named hash are accepted, in memory or
// through a temporary file; anything else is a badContentError.
func TestReceiveContent(t *testing.T) {
	small := "<h1>hello</h1>"
	large := strings.Repeat("x", inMemoryContent+10)
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	for _, content := range []string{small, large} {
		body, cleanup, err := receiveContent(strings.NewReader(content), sum(content), int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(body)
		cleanup()
		if string(got) != content {
			t.Errorf("received %d bytes, want %d", len(got), len(content))
		}
	}
	for _, tc := range []struct {
		body, sha string
		size      int64
		says      string
	}{
		{small, sum("other"), int64(len(small)), "have the sha256 " + sum(small)},
		{small + "!", sum(small), int64(len(small)), "should be 14 bytes; 15 arrived"},
		{small[:5], sum(small), int64(len(small)), "should be 14 bytes; 5 arrived"},
		{large, sum("other"), int64(len(large)), "refused"},
	} {
		_, cleanup, err := receiveContent(strings.NewReader(tc.body), tc.sha, tc.size)
		cleanup()
		var bad *badContentError
		if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("receiveContent(%d bytes, size %d) = %v, want %q", len(tc.body), tc.size, err, tc.says)
		}
	}
}

func TestCheckUploadGit(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		g  *api.UploadGit
		ok bool
	}{
		{nil, true},
		{&api.UploadGit{Commit: sha, Branch: "feature/x", Message: "m", Author: "A"}, true},
		{&api.UploadGit{Commit: strings.Repeat("ab", 32)}, true}, // SHA-256 repositories
		{&api.UploadGit{Commit: strings.ToUpper(sha)}, false},
		{&api.UploadGit{Commit: "abc"}, false},
		{&api.UploadGit{Commit: sha, Branch: "--upload-pack=x"}, false},
		{&api.UploadGit{Commit: sha, Message: strings.Repeat("m", 5000)}, false},
		{&api.UploadGit{Commit: sha, Author: "a\x00b"}, false},
	} {
		if err := checkUploadGit(tc.g); (err == nil) != tc.ok {
			t.Errorf("checkUploadGit(%+v) = %v, want ok=%v", tc.g, err, tc.ok)
		}
	}
}
