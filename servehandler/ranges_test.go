package servehandler

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/storage"
)

func TestNormalizeRange(t *testing.T) {
	many := func(n, step, length int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf("%d-%d", i*step, i*step+length-1))
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	tests := []struct {
		in    string
		out   string
		end   int64
		whole bool
	}{
		{"bytes=0-3", "bytes=0-3", 4, false},
		{"bytes=995-", "bytes=995-999", 1000, false},
		{"bytes=-2", "bytes=998-999", 1000, false},
		{"bytes=-5000", "bytes=0-999", 1000, false},
		{"bytes=0-5000", "bytes=0-999", 1000, false},
		{"bytes=500-600, 0-10", "bytes=0-10,500-600", 601, false},
		{"bytes=0-10,5-20,21-30", "bytes=0-30", 31, false},             // overlapping and adjacent
		{"bytes=0-10,12-20", "bytes=0-10,12-20", 21, false},            // a gap: not merged
		{"bytes=0-0,-1,,  2-2 ", "bytes=0-0,2-2,999-999", 1000, false}, // empty items, spaces
		{"bytes=5000-6000,0-1", "bytes=0-1", 2, false},                 // the unsatisfiable one dropped
		{many(1000, 10, 10), "bytes=0-9999", 10000, false},             // 1000 adjacent ranges: one
		{many(17, 20, 10), "", 0, true},
		{many(16, 20, 10), many(16, 20, 10), 310, false},
		{"bytes=5000-", "bytes=5000-", 0, false}, // nothing satisfiable: left to ServeContent (416)
		{"bytes=-0", "bytes=-0", 0, false},
		{"bytes=abc", "bytes=abc", 0, false}, // malformed: left to ServeContent
		{"bytes=5-1", "bytes=5-1", 0, false},
		{"bytes=1-2,x", "bytes=1-2,x", 0, false},
		{"items=0-1", "items=0-1", 0, false},
		{"bytes=99999999999999999999-", "bytes=99999999999999999999-", 0, false},
	}
	for _, tt := range tests {
		size := int64(1000)
		if strings.Count(tt.in, ",") >= 16 {
			size = 100000
		}
		out, end, whole := normalizeRange(tt.in, size)
		if out != tt.out || end != tt.end || whole != tt.whole {
			t.Errorf("normalizeRange(%.60q, %d) = %.60q, %d, %v; want %.60q, %d, %v", tt.in, size, out, end, whole, tt.out, tt.end, tt.whole)
		}
	}
}

// TestThousandRanges: one request with 1,000 ranges on a 2 MiB file, with and without the
// disk cache (without, the file is streamed from storage with ranged GETs). Storage is read
// once per request at most, and the answer is right: the whole file when more than 16
// ranges remain after merging, else the merged parts.
func TestThousandRanges(t *testing.T) {
	body := randomBytes(8, 2<<20)
	var scattered, adjacent, tenGroups []string
	for i := range 1000 {
		scattered = append(scattered, fmt.Sprintf("%d-%d", i*2000, i*2000+9)) // 1000 parts
		adjacent = append(adjacent, fmt.Sprintf("%d-%d", 5000+i*100, 5000+i*100+99))
	}
	for i := range 1000 { // 1000 overlapping ranges, in reverse order, into 10 groups
		g, j := (999-i)/100, (999-i)%100
		tenGroups = append(tenGroups, fmt.Sprintf("%d-%d", g*150000+j*10, g*150000+j*10+14))
	}
	adjacent = append(adjacent, "0-99", "1900000-1900009") // 3 parts once merged

	for _, mode := range []string{"disk", "stream"} {
		t.Run(mode, func(t *testing.T) {
			store := newFakeStore()
			m := store.publish(dep1, false, map[string]string{"video.mp4": string(body)})
			key := storage.BlobKey(m.Files[0].SHA256)
			o := Options{}
			if mode == "stream" {
				o.DiskCacheBytes = -1
			}
			h := newTestHandler(t, store, o)
			host := dep1 + ".localhost"

			w := get(h, host, "/video.mp4", "Range", "bytes="+strings.Join(scattered, ","))
			if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), body) {
				t.Fatalf("1000 scattered ranges: %d, %d bytes; want the whole file", w.Code, w.Body.Len())
			}
			if n := store.readCount(key); n != 1 {
				t.Errorf("1000 scattered ranges: %d storage reads", n)
			}

			for _, tc := range []struct {
				name   string
				ranges []string
				want   [][2]int // first, last
			}{
				{"adjacent", adjacent, [][2]int{{0, 99}, {5000, 104999}, {1900000, 1900009}}},
				{"ten groups", tenGroups, func() (w [][2]int) {
					for g := range 10 {
						w = append(w, [2]int{g * 150000, g*150000 + 1004})
					}
					return w
				}()},
			} {
				store.resetReads()
				w := get(h, host, "/video.mp4", "Range", "bytes="+strings.Join(tc.ranges, ","))
				if w.Code != 206 {
					t.Fatalf("%s: %d", tc.name, w.Code)
				}
				parts := readParts(t, w.Header().Get("Content-Type"), w.Body.Bytes())
				if len(parts) != len(tc.want) {
					t.Fatalf("%s: %d parts, want %d", tc.name, len(parts), len(tc.want))
				}
				for i, p := range parts {
					first, last := tc.want[i][0], tc.want[i][1]
					if cr := fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)); p.crange != cr || !bytes.Equal(p.data, body[first:last+1]) {
						t.Errorf("%s part %d: %q, %d bytes; want %q", tc.name, i, p.crange, len(p.data), cr)
					}
				}
				if n := store.readCount(key); n > 1 || (mode == "disk" && n != 0) {
					t.Errorf("%s: %d storage reads", tc.name, n)
				}
			}
		})
	}
}

type part struct {
	crange string
	data   []byte
}

func readParts(t *testing.T, ctype string, body []byte) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q", ctype)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		out = append(out, part{p.Header.Get("Content-Range"), data})
	}
}
