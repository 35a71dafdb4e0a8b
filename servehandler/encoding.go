package servehandler

// Content codings of the stored variants, in the order the variants are kept per file.
const (
	encIdentity = 0
	encBrotli   = 1
	encGzip     = 2
)

// negotiate picks the coding to serve from an Accept-Encoding header given which variants
// exist: the highest q-value wins, brotli on a tie, identity when neither is acceptable.
// It reads the header without allocating.
func negotiate(accept []string, hasBr, hasGz bool) int {
	if len(accept) == 0 || (!hasBr && !hasGz) {
		return encIdentity
	}
	qBr, qGz, qStar := -1, -1, -1
	for _, h := range accept {
		for len(h) > 0 {
			var item string
			if i := indexByte(h, ','); i >= 0 {
				item, h = h[:i], h[i+1:]
			} else {
				item, h = h, ""
			}
			name, q := parseCoding(item)
			switch {
			case equalFold(name, "br"):
				qBr = q
			case equalFold(name, "gzip"), equalFold(name, "x-gzip"):
				qGz = q
			case name == "*":
				qStar = q
			}
		}
	}
	if qBr < 0 {
		qBr = qStar
	}
	if qGz < 0 {
		qGz = qStar
	}
	if !hasBr {
		qBr = -1
	}
	if !hasGz {
		qGz = -1
	}
	switch {
	case qBr > 0 && qBr >= qGz:
		return encBrotli
	case qGz > 0:
		return encGzip
	}
	return encIdentity
}

// parseCoding splits "gzip;q=0.8" into the coding and its q-value in thousandths.
func parseCoding(item string) (string, int) {
	item = trimOWS(item)
	q := 1000
	name := item
	if i := indexByte(item, ';'); i >= 0 {
		name = trimOWS(item[:i])
		params := item[i+1:]
		for len(params) > 0 {
			var p string
			if j := indexByte(params, ';'); j >= 0 {
				p, params = params[:j], params[j+1:]
			} else {
				p, params = params, ""
			}
			p = trimOWS(p)
			if len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
				q = parseQ(trimOWS(p[2:]))
			}
		}
	}
	return name, q
}

// parseQ reads a qvalue ("0", "0.5", "1.000"); malformed values count as 0.
func parseQ(s string) int {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0
	}
	v := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return v
	}
	if s[1] != '.' || len(s) > 5 {
		return 0
	}
	mul := 100
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		v += int(c-'0') * mul
		mul /= 10
	}
	if v > 1000 {
		return 0
	}
	return v
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// equalFold compares ASCII case-insensitively; want is lower case.
func equalFold(s, want string) bool {
	if len(s) != len(want) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != want[i] {
			return false
		}
	}
	return true
}
