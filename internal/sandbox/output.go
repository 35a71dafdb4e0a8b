package sandbox

import (
	"bytes"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLineBytes is where long output lines are split.
const maxLineBytes = 4096

// lineReader reads r until EOF or error, calls count with the number of raw
// bytes read (count returns false to stop delivering), and emit with each
// complete line (without its newline, trailing CR removed, invalid UTF-8
// replaced). Lines longer than maxLineBytes are split on a rune boundary.
func lineReader(r io.Reader, count func(n int) bool, emit func(text string)) {
	buf := make([]byte, 32*1024)
	var pending []byte
	deliver := true
	flush := func(b []byte) {
		if !deliver {
			return
		}
		b = bytes.TrimSuffix(b, []byte{'\r'})
		emit(strings.ToValidUTF8(string(b), "\uFFFD"))
	}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !count(n) {
				deliver = false
			}
			if deliver {
				pending = append(pending, buf[:n]...)
				for {
					if i := bytes.IndexByte(pending, '\n'); i >= 0 && i <= maxLineBytes {
						flush(pending[:i])
						pending = pending[i+1:]
						continue
					}
					if len(pending) > maxLineBytes {
						cut := maxLineBytes
						// Back off to the start of a rune so a split does not
						// turn a valid character into two replacement marks.
						for k := 0; k < utf8.UTFMax && cut > 0 && !utf8.RuneStart(pending[cut]); k++ {
							cut--
						}
						if cut == 0 {
							cut = maxLineBytes
						}
						flush(pending[:cut])
						pending = pending[cut:]
						continue
					}
					break
				}
				// Avoid unbounded growth of the backing array.
				if cap(pending) > 4*maxLineBytes && len(pending) < maxLineBytes {
					pending = append([]byte(nil), pending...)
				}
			} else {
				pending = nil
			}
		}
		if err != nil {
			if len(pending) > 0 {
				flush(pending)
			}
			return
		}
	}
}

// newLine makes a Line stamped now.
func newLine(stream, text string) Line {
	return Line{Stream: stream, Text: text, Time: time.Now()}
}
