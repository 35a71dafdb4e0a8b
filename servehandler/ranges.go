package servehandler

import (
	"slices"
	"strconv"
	"strings"
)

// maxRanges is the most ranges one request gets after merging; a request asking for more
// gets the whole file (200), as RFC 9110 allows. Without a limit, one request with thousands
// of tiny ranges costs thousands of seeks and multipart headers.
const maxRanges = 16

// byteRange is an inclusive range of byte offsets.
type byteRange struct{ first, last int64 }

// normalizeRange rewrites a Range header value for a representation of size bytes before
// http.ServeContent answers it: satisfiable ranges are sorted, and those that overlap or
// touch are merged. It returns whole=true when more than maxRanges ranges remain (send the
// whole file), and the value unchanged when it cannot be parsed or nothing in it is
// satisfiable (ServeContent then answers 416). end is one past the last byte the rewritten
// ranges need (0 when the value is returned unchanged).
func normalizeRange(h string, size int64) (out string, end int64, whole bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return h, 0, false
	}
	var rs []byteRange
	for item := range strings.SplitSeq(spec, ",") {
		item = trimOWS(item)
		if item == "" {
			continue
		}
		first, last, ok := strings.Cut(item, "-")
		if !ok {
			return h, 0, false
		}
		first, last = trimOWS(first), trimOWS(last)
		var r byteRange
		switch {
		case first == "":
			n, err := parseOffset(last)
			if err {
				return h, 0, false
			}
			if n == 0 || size == 0 {
				continue // unsatisfiable
			}
			r = byteRange{max(size-n, 0), size - 1}
		default:
			a, err := parseOffset(first)
			if err {
				return h, 0, false
			}
			b := size - 1
			if last != "" {
				if b, err = parseOffset(last); err || b < a {
					return h, 0, false
				}
			}
			if a >= size {
				continue // unsatisfiable
			}
			r = byteRange{a, min(b, size-1)}
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return h, 0, false
	}
	rs = mergeRanges(rs)
	if len(rs) > maxRanges {
		return "", 0, true
	}
	var b strings.Builder
	b.WriteString("bytes=")
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(r.first, 10))
		b.WriteByte('-')
		b.WriteString(strconv.FormatInt(r.last, 10))
	}
	return b.String(), rs[len(rs)-1].last + 1, false
}

// mergeRanges sorts rs and merges ranges that overlap or are adjacent.
func mergeRanges(rs []byteRange) []byteRange {
	slices.SortFunc(rs, func(a, b byteRange) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	out := rs[:1]
	for _, r := range rs[1:] {
		cur := &out[len(out)-1]
		if r.first <= cur.last+1 {
			cur.last = max(cur.last, r.last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// parseOffset reads a non-negative decimal offset; bad reports anything else.
func parseOffset(s string) (n int64, bad bool) {
	if s == "" || len(s) > 18 {
		return 0, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, true
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, false
}
