package buildcache

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), mode))
}

func TestKey(t *testing.T) {
	base := KeyInput{Scope: "p1", Kind: KindDeps, PackageManager: "npm", Lockfile: []byte("lock"), Manifests: [][]byte{[]byte("{}")}, NodeMajor: 20}
	k := Key(base)
	if len(k) != 64 || Key(base) != k {
		t.Fatalf("key %q not stable", k)
	}
	vary := func(f func(*KeyInput)) KeyInput { v := base; f(&v); return v }
	for name, v := range map[string]KeyInput{
		"scope":           vary(func(v *KeyInput) { v.Scope = "p2" }),
		"kind":            vary(func(v *KeyInput) { v.Kind = KindDownloads }),
		"package manager": vary(func(v *KeyInput) { v.PackageManager = "pnpm" }),
		"lockfile":        vary(func(v *KeyInput) { v.Lockfile = []byte("lock2") }),
		"manifest":        vary(func(v *KeyInput) { v.Manifests = [][]byte{[]byte(`{"scripts":{"postinstall":"x"}}`)} }),
		"more manifests":  vary(func(v *KeyInput) { v.Manifests = append(v.Manifests, []byte("{}")) }),
		"node":            vary(func(v *KeyInput) { v.NodeMajor = 22 }),
		"arch":            vary(func(v *KeyInput) { v.Arch = "linux/arm64" }),
		"ambiguous":       {Scope: "p1d", Kind: "eps", PackageManager: "npm", Lockfile: []byte("lock"), NodeMajor: 20},
	} {
		if Key(v) == k {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
	// A download cache does not depend on the lockfile or manifests.
	d1 := KeyInput{Scope: "p1", Kind: KindDownloads, PackageManager: "npm", Lockfile: []byte("a"), NodeMajor: 20}
	d2 := KeyInput{Scope: "p1", Kind: KindDownloads, PackageManager: "npm", Manifests: [][]byte{[]byte("b")}, NodeMajor: 20}
	if Key(d1) != Key(d2) {
		t.Error("the download cache's key depends on the lockfile")
	}
}

func TestFingerprint(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "cache/a"), "aaa", 0o644)
	f1 := Fingerprint(ws, []string{"cache", "missing"})
	if f1 != Fingerprint(ws, []string{"cache", "missing"}) {
		t.Fatal("fingerprint not stable")
	}
	write(t, filepath.Join(ws, "cache/b"), "b", 0o644)
	if Fingerprint(ws, []string{"cache"}) == f1 {
		t.Fatal("a new file keeps the fingerprint")
	}
}

func TestPackRestoreRoundTrip(t *testing.T) {
	src := t.TempDir()
	write(t, filepath.Join(src, "node_modules/vite/bin/vite.js"), "#!/usr/bin/env node\n", 0o755)
	write(t, filepath.Join(src, "node_modules/vite/package.json"), `{"name":"vite"}`, 0o644)
	write(t, filepath.Join(src, "node_modules/secret-setuid"), "x", 0o644)
	must(t, os.Chmod(filepath.Join(src, "node_modules/secret-setuid"), 0o4755))
	must(t, os.MkdirAll(filepath.Join(src, "node_modules/.bin"), 0o755))
	must(t, os.Symlink("../vite/bin/vite.js", filepath.Join(src, "node_modules/.bin/vite")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(src, "node_modules/abs-link")))
	must(t, os.Symlink("../../outside", filepath.Join(src, "node_modules/escape-link")))
	must(t, syscall.Mkfifo(filepath.Join(src, "node_modules/fifo"), 0o644))
	write(t, filepath.Join(src, ".skydeploy/home/.npm/_cacache/index"), "idx", 0o644)
	write(t, filepath.Join(src, "src/app.js"), "app", 0o644)

	dirs := []string{"node_modules", ".skydeploy/home/.npm"}
	var buf bytes.Buffer
	st, err := Pack(src, dirs, &buf, Limits{MaxArchiveBytes: 1 << 20})
	must(t, err)
	if st.Files != 4 || st.Symlinks != 1 || st.Skipped != 3 {
		t.Fatalf("pack stats %+v", st)
	}

	dst := t.TempDir()
	write(t, filepath.Join(dst, "src/app.js"), "new app", 0o644)
	rst, err := Restore(dst, dirs, bytes.NewReader(buf.Bytes()), Limits{MaxBytes: 1 << 20, MaxFiles: 100})
	must(t, err)
	if rst.Files != 4 || rst.Symlinks != 1 {
		t.Fatalf("restore stats %+v", rst)
	}
	b, err := os.ReadFile(filepath.Join(dst, "node_modules/.bin/vite"))
	must(t, err)
	if string(b) != "#!/usr/bin/env node\n" {
		t.Fatalf("link content %q", b)
	}
	fi, err := os.Stat(filepath.Join(dst, "node_modules/vite/bin/vite.js"))
	must(t, err)
	if fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v", fi.Mode())
	}
	fi, err = os.Stat(filepath.Join(dst, "node_modules/secret-setuid"))
	must(t, err)
	if fi.Mode()&os.ModeSetuid != 0 {
		t.Fatalf("setuid kept")
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "src/app.js")); string(b) != "new app" {
		t.Fatalf("source changed")
	}
	if _, err := os.ReadFile(filepath.Join(dst, ".skydeploy/home/.npm/_cacache/index")); err != nil {
		t.Fatal(err)
	}
}

func TestPackTooLarge(t *testing.T) {
	src := t.TempDir()
	big := make([]byte, 256<<10)
	_, _ = rand.Read(big) // incompressible
	for i := 0; i < 8; i++ {
		write(t, filepath.Join(src, "node_modules", "f"+string(rune('a'+i))), string(big), 0o644)
	}
	var buf bytes.Buffer
	_, err := Pack(src, []string{"node_modules"}, &buf, Limits{MaxArchiveBytes: 64 << 10})
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("want TooLargeError, got %v", err)
	}
	if buf.Len() > 64<<10 {
		t.Fatalf("wrote %d bytes", buf.Len())
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
}

func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

func TestRestoreRefusesHostileArchives(t *testing.T) {
	cases := map[string][]entry{
		"absolute":       {{name: "/etc/cron.d/x", typ: tar.TypeReg, body: "x"}},
		"dotdot":         {{name: "node_modules/../../x", typ: tar.TypeReg, body: "x"}},
		"dotdot-clean":   {{name: "../x", typ: tar.TypeReg, body: "x"}},
		"outside-dirs":   {{name: "package.json", typ: tar.TypeReg, body: "x"}},
		"abs-symlink":    {{name: "node_modules/l", typ: tar.TypeSymlink, link: "/etc"}},
		"escape-symlink": {{name: "node_modules/l", typ: tar.TypeSymlink, link: "../../etc"}},
		"device":         {{name: "node_modules/dev", typ: tar.TypeChar}},
		"fifo":           {{name: "node_modules/fifo", typ: tar.TypeFifo}},
		"hardlink":       {{name: "node_modules/h", typ: tar.TypeLink, link: "/etc/passwd"}},
		"write-through-link": {
			{name: "node_modules/l", typ: tar.TypeSymlink, link: "../src"},
			{name: "node_modules/l/app.js", typ: tar.TypeReg, body: "pwned"},
		},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			ws := t.TempDir()
			write(t, filepath.Join(ws, "src/app.js"), "app", 0o644)
			_, err := Restore(ws, []string{"node_modules"}, bytes.NewReader(archive(t, entries...)), Limits{})
			if err == nil {
				// The write-through case may only succeed if nothing went
				// through the link.
				if b, _ := os.ReadFile(filepath.Join(ws, "src/app.js")); string(b) != "app" {
					t.Fatalf("wrote through a link")
				}
				t.Fatalf("hostile archive accepted")
			}
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("want UnsafeEntryError, got %v", err)
			}
			if b, _ := os.ReadFile(filepath.Join(ws, "src/app.js")); string(b) != "app" {
				t.Fatalf("source modified")
			}
			if _, err := os.Lstat(filepath.Join(ws, "node_modules")); err == nil {
				t.Fatalf("partial restore left behind")
			}
		})
	}
}

func TestRestoreLimits(t *testing.T) {
	ws := t.TempDir()
	data := archive(t,
		entry{name: "node_modules/a", typ: tar.TypeReg, body: strings.Repeat("a", 1000)},
		entry{name: "node_modules/b", typ: tar.TypeReg, body: strings.Repeat("b", 1000)},
	)
	var tl *TooLargeError
	if _, err := Restore(ws, []string{"node_modules"}, bytes.NewReader(data), Limits{MaxBytes: 1500}); !errors.As(err, &tl) {
		t.Fatalf("size: %v", err)
	}
	if _, err := Restore(ws, []string{"node_modules"}, bytes.NewReader(data), Limits{MaxFiles: 1}); !errors.As(err, &tl) {
		t.Fatalf("count: %v", err)
	}
	if _, err := Restore(ws, []string{"node_modules"}, bytes.NewReader(data), Limits{MaxBytes: 4000, MaxFiles: 10}); err != nil {
		t.Fatal(err)
	}
}
