package gitfetch

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// packObject is one entry of a hand-made pack: a header declaring typ and size, an optional
// base offset (OFS delta: distance back to the base), and the zlib stream of data.
type packObject struct {
	typ      plumbing.ObjectType
	size     int64
	baseDist int64
	data     []byte
}

// buildPack writes a pack of objs with a correct trailer checksum. declared overrides the
// object count in the header when not zero.
func buildPack(t *testing.T, declared uint32, objs ...packObject) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	if declared == 0 {
		declared = uint32(len(objs))
	}
	binary.Write(&b, binary.BigEndian, declared)
	for _, o := range objs {
		size := o.size
		c := byte(o.typ)<<4 | byte(size&0x0f)
		size >>= 4
		for size > 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
		if o.typ == plumbing.OFSDeltaObject {
			// git's offset encoding: big-endian base-128 with an off-by-one per continuation.
			d := o.baseDist
			buf := []byte{byte(d & 0x7f)}
			for d >>= 7; d > 0; d >>= 7 {
				d--
				buf = append([]byte{byte(0x80 | d&0x7f)}, buf...)
			}
			b.Write(buf)
		}
		zw := zlib.NewWriter(&b)
		zw.Write(o.data)
		zw.Close()
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// trees returns n tree objects of size zero bytes each (their content is not parsed).
func trees(n, size int) []packObject {
	out := make([]packObject, n)
	for i := range out {
		out[i] = packObject{typ: plumbing.TreeObject, size: int64(size), data: make([]byte, size)}
	}
	return out
}

func varint(n int64) []byte {
	var out []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func TestCheckPackJudgesDeclaredSizesBeforeInflating(t *testing.T) {
	small := []byte("hello\n")
	base := packObject{typ: plumbing.BlobObject, size: int64(len(small)), data: small}
	lim := Limits{MaxBytes: 1 << 20, MaxFileBytes: 64 << 10, MaxFiles: 3}
	// A delta's data: base size, target size, then one insert instruction.
	delta := func(target int64) []byte {
		d := append(varint(int64(len(small))), varint(target)...)
		return append(d, 1, 'x')
	}
	baseLen := int64(len(buildPack(t, 0, base))) - 12 - 20 // the base object's encoded length
	cases := []struct {
		name string
		pack []byte
		want string // "" = accepted; else a LimitError naming this setting
	}{
		{"within budget", buildPack(t, 0, base, packObject{typ: plumbing.TreeObject, size: 3, data: []byte("abc")}), ""},
		// The stream holds 6 bytes but the header says 1 TiB: judged on the header alone,
		// so the (truncated) stream is never inflated.
		{"huge declared blob", buildPack(t, 0, packObject{typ: plumbing.BlobObject, size: 1 << 40, data: small}), "SKYDEPLOY_MAX_FILE_BYTES"},
		{"delta building a huge object", buildPack(t, 0, base,
			packObject{typ: plumbing.OFSDeltaObject, size: int64(len(delta(1 << 40))), baseDist: baseLen, data: delta(1 << 40)}), "SKYDEPLOY_MAX_FILE_BYTES"},
		{"small delta within budget", buildPack(t, 0, base,
			packObject{typ: plumbing.OFSDeltaObject, size: int64(len(delta(1))), baseDist: baseLen, data: delta(1)}), ""},
		{"objects adding up past the decompressed budget", buildPack(t, 0, trees(20, 60<<10)...), "SKYDEPLOY_MAX_REPO_BYTES"},
		{"more files than allowed", buildPack(t, 0, base, base, base, base), "SKYDEPLOY_MAX_FILES"},
		{"more objects declared than any repository within the file limit", buildPack(t, 4*3+minObjectLimit+1, base), "SKYDEPLOY_MAX_FILES"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPack(bytes.NewReader(tc.pack), budgetFor(lim, false))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused a pack within budget: %v", err)
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) || !strings.Contains(le.Msg, tc.want) {
				t.Fatalf("err = %v, want a LimitError naming %s", err, tc.want)
			}
		})
	}
}

func TestCheckPackRefusesMalformedPacks(t *testing.T) {
	small := []byte("hello\n")
	good := buildPack(t, 0, packObject{typ: plumbing.BlobObject, size: int64(len(small)), data: small})
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 0xff
	for name, pack := range map[string][]byte{
		"bad checksum":                corrupt,
		"truncated":                   good[:len(good)-25],
		"stream longer than declared": buildPack(t, 0, packObject{typ: plumbing.BlobObject, size: 2, data: small}),
		"delta header overflow": buildPack(t, 0, packObject{typ: plumbing.BlobObject, size: int64(len(small)), data: small},
			packObject{typ: plumbing.OFSDeltaObject, size: 25, baseDist: int64(len(good)) - 32, data: bytes.Repeat([]byte{0xff}, 25)}),
	} {
		err := checkPack(bytes.NewReader(pack), budgetFor(Limits{}, false))
		var le *LimitError
		if err == nil || errors.As(err, &le) {
			t.Errorf("%s: err = %v, want a malformed-pack error", name, err)
		}
	}
	if err := checkPack(bytes.NewReader(good), budgetFor(Limits{}, false)); err != nil {
		t.Fatalf("good pack refused: %v", err)
	}
}

// A history fetch is judged by bytes and object sizes, not by the file limit.
func TestBudgetForHistoryDropsTheFileCount(t *testing.T) {
	lim := Limits{MaxBytes: 10, MaxFileBytes: 5, MaxFiles: 2}
	if b := budgetFor(lim, false); b.maxFiles != 2 || b.maxObjects != 2*objectsPerFile+minObjectLimit {
		t.Errorf("shallow budget = %+v", b)
	}
	if b := budgetFor(lim, true); b.maxFiles != 0 || b.maxBytes != 10 || b.maxObjectBytes != 5 {
		t.Errorf("history budget = %+v", b)
	}
}

func TestCheckedPackWriterStopsTheDownloadAtTheFirstBadHeader(t *testing.T) {
	dir := t.TempDir()
	st, err := newCheckedStorage(dir, Limits{MaxFileBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.PackfileWriter()
	if err != nil {
		t.Fatal(err)
	}
	pack := buildPack(t, 0, packObject{typ: plumbing.BlobObject, size: 1 << 40, data: make([]byte, 64<<10)})
	// Write the pack in small pieces, as a download arrives: a write fails soon after the header.
	var werr error
	written := 0
	for off := 0; off < len(pack) && werr == nil; off += 16 {
		var n int
		n, werr = w.Write(pack[off:min(off+16, len(pack))])
		written += n
	}
	cerr := w.Close()
	var le *LimitError
	if !errors.As(werr, &le) || !errors.As(cerr, &le) {
		t.Fatalf("write err = %v, close err = %v; want LimitErrors", werr, cerr)
	}
	if written > 64 {
		t.Errorf("%d bytes were accepted after a header declaring 1 TiB", written)
	}
	// Nothing of the refused pack stays: no pack in the storage, no temporary file.
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("files left after a refused pack: %v", left)
	}
}

func TestHostCredentials(t *testing.T) {
	c := HostCredentials("ghp_secret", "http://127.0.0.1:8123/api/v3/", map[string]string{"Git.Example.com": "alice:pw", "gitlab.com:8443": "bob:tok"})
	for _, tc := range []struct {
		url, user, password string
	}{
		{"https://github.com/o/r.git", "x-access-token", "ghp_secret"},
		{"https://GITHUB.com:443/o/r.git", "x-access-token", "ghp_secret"},
		{"http://127.0.0.1:8123/o/r.git", "x-access-token", "ghp_secret"}, // the API's host (GitHub Enterprise)
		{"http://127.0.0.1:8124/o/r.git", "", ""},
		{"https://api.github.com.evil.example/o/r", "", ""},
		{"https://evil-github.com/o/r", "", ""},
		{"https://gist.github.com/o/r", "", ""},
		{"https://git.example.com/o/r", "alice", "pw"},
		{"https://git.example.com:8443/o/r", "", ""},
		{"https://gitlab.com/o/r", "", ""},
		{"https://gitlab.com:8443/o/r", "bob", "tok"},
	} {
		u, _ := url.Parse(tc.url)
		user, password, ok := c.For(u)
		if user != tc.user || password != tc.password || ok != (tc.user != "") {
			t.Errorf("%s: got %q:%q (%v), want %q:%q", tc.url, user, password, ok, tc.user, tc.password)
		}
	}
	if len(HostCredentials("", "https://api.github.com/", nil)) != 0 {
		t.Error("no token and no per-host entries must give no credentials")
	}
	// An operator's entry for github.com replaces the token there.
	c = HostCredentials("ghp_secret", "", map[string]string{"github.com": "bot:other"})
	u, _ := url.Parse("https://github.com/o/r")
	if user, password, _ := c.For(u); user != "bot" || password != "other" {
		t.Errorf("per-host entry for github.com: %s:%s", user, password)
	}
}
