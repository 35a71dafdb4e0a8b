package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPackUnpackRoundTrip(t *testing.T) {
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "a/b"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "index.html"), []byte("<h1>hi</h1>"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "a/b/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "node_modules/x"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "node_modules/x/i.js"), []byte("x"), 0o644))
	var buf bytes.Buffer
	st, err := Pack(&buf, src, func(rel string, isDir bool) bool { return rel == "node_modules" })
	must(t, err)
	if st.Files != 2 {
		t.Fatalf("packed %d files, want 2", st.Files)
	}
	dst := t.TempDir()
	ust, err := Unpack(bytes.NewReader(buf.Bytes()), dst, Limits{MaxFiles: 10})
	must(t, err)
	if ust.Files != 2 || ust.Bytes != st.Bytes {
		t.Fatalf("unpacked %+v, packed %+v", ust, st)
	}
	got, err := os.ReadFile(filepath.Join(dst, "index.html"))
	must(t, err)
	if string(got) != "<h1>hi</h1>" {
		t.Fatalf("index.html = %q", got)
	}
	info, err := os.Stat(filepath.Join(dst, "a/b/run.sh"))
	must(t, err)
	if info.Mode()&0o111 == 0 {
		t.Fatalf("run.sh lost its executable bit: %v", info.Mode())
	}
	if _, err := os.Stat(filepath.Join(dst, "node_modules")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("skipped directory was packed")
	}
}

func TestPackRefusesSymlinks(t *testing.T) {
	src := t.TempDir()
	must(t, os.Symlink("/etc/passwd", filepath.Join(src, "passwd")))
	var ue *UnsafeError
	if _, err := Pack(&bytes.Buffer{}, src, nil); !errors.As(err, &ue) {
		t.Fatalf("Pack with a symlink = %v, want UnsafeError", err)
	}
}

func TestUnpackRefusesHostileEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  tar.Header
		lim  Limits
		want any
	}{
		{"dotdot", tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Size: 1}, Limits{}, &UnsafeError{}},
		{"absolute", tar.Header{Name: "/etc/evil", Typeflag: tar.TypeReg, Size: 1}, Limits{}, &UnsafeError{}},
		{"nested dotdot", tar.Header{Name: "a/../../evil", Typeflag: tar.TypeReg, Size: 1}, Limits{}, &UnsafeError{}},
		{"symlink", tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, Limits{}, &UnsafeError{}},
		{"hardlink", tar.Header{Name: "link", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}, Limits{}, &UnsafeError{}},
		{"device", tar.Header{Name: "dev", Typeflag: tar.TypeChar}, Limits{}, &UnsafeError{}},
		{"backslash", tar.Header{Name: `..\evil`, Typeflag: tar.TypeReg, Size: 1}, Limits{}, &UnsafeError{}},
		{"too big", tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1}, Limits{MaxFileBytes: 0, MaxBytes: 0, MaxFiles: 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			hdr := tc.hdr
			hdr.Mode = 0o644
			must(t, tw.WriteHeader(&hdr))
			if hdr.Typeflag == tar.TypeReg {
				_, _ = tw.Write(bytes.Repeat([]byte("x"), int(hdr.Size)))
			}
			must(t, tw.Close())
			must(t, gz.Close())
			dst := t.TempDir()
			_, err := Unpack(&buf, dst, tc.lim)
			if tc.want == nil {
				must(t, err)
				return
			}
			var ue *UnsafeError
			if !errors.As(err, &ue) {
				t.Fatalf("Unpack = %v, want UnsafeError", err)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "evil")); err == nil {
				t.Fatalf("file escaped the directory")
			}
		})
	}
}

func TestUnpackLimits(t *testing.T) {
	src := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		must(t, os.WriteFile(filepath.Join(src, n), bytes.Repeat([]byte("x"), 100), 0o644))
	}
	var buf bytes.Buffer
	_, err := Pack(&buf, src, nil)
	must(t, err)
	var le *LimitError
	if _, err := Unpack(bytes.NewReader(buf.Bytes()), t.TempDir(), Limits{MaxFiles: 2}); !errors.As(err, &le) {
		t.Fatalf("MaxFiles: %v", err)
	}
	if _, err := Unpack(bytes.NewReader(buf.Bytes()), t.TempDir(), Limits{MaxFileBytes: 50}); !errors.As(err, &le) {
		t.Fatalf("MaxFileBytes: %v", err)
	}
	if _, err := Unpack(bytes.NewReader(buf.Bytes()), t.TempDir(), Limits{MaxBytes: 250}); !errors.As(err, &le) {
		t.Fatalf("MaxBytes: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriterMatchesPack: files added one by one (as build output is) make the same archive as
// Pack of the same tree, and a reader shorter than the size it claims is an error.
func TestWriterMatchesPack(t *testing.T) {
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "index.html"), []byte("<h1>hi</h1>"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	var packed, added bytes.Buffer
	if _, err := Pack(&packed, src, nil); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(&added)
	must(t, w.Add("index.html", bytes.NewReader([]byte("<h1>hi</h1>")), 11, false))
	must(t, w.Add("run.sh", bytes.NewReader([]byte("#!/bin/sh\n")), 10, true))
	must(t, w.Close())
	if !bytes.Equal(packed.Bytes(), added.Bytes()) {
		t.Fatal("Writer and Pack wrote different archives of the same files")
	}
	if err := NewWriter(&bytes.Buffer{}).Add("short", bytes.NewReader([]byte("abc")), 10, false); err == nil {
		t.Fatal("a reader shorter than its size was accepted")
	}
}
