// Package bytesize writes byte counts the way people read sizes ("256 MiB", "1.5 GiB"), for
// every message that names a size or a limit: the clone, the sandbox, the egress proxy and the
// activities all say sizes the same way.
//
// It must never import anything outside the standard library.
package bytesize

import (
	"fmt"
	"strconv"
)

// Format writes n in binary units: a whole number of units without decimals ("256 MiB"), else
// one decimal ("1.5 GiB"); under a KiB, plain bytes ("512 B").
func Format(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v := float64(n)
	i := 0
	for (v >= 1024 || v <= -1024) && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10) + " B"
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
