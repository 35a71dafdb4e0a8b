package activities

import (
	"sort"
	"strings"
)

// minMaskedLen is the shortest secret (or line of a secret) that is masked: masking "1" or
// "on" would turn every log into stars while protecting nothing.
const minMaskedLen = 4

// secretMasker replaces the values of a build's secret variables in log lines with "***", the
// way CI systems do. A multi-line value is masked line by line too, since build tools print
// values one line at a time.
type secretMasker struct {
	r *strings.Replacer
}

func newSecretMasker(secrets []string) *secretMasker {
	seen := map[string]bool{}
	var olds []string
	add := func(s string) {
		s = strings.TrimRight(s, "\r")
		if len(strings.TrimSpace(s)) >= minMaskedLen && !seen[s] {
			seen[s] = true
			olds = append(olds, s)
		}
	}
	for _, v := range secrets {
		add(v)
		for _, line := range strings.Split(v, "\n") {
			add(line)
			add(strings.TrimSpace(line))
		}
	}
	if len(olds) == 0 {
		return &secretMasker{}
	}
	// Longest first, so that a secret containing another is masked whole.
	sort.Slice(olds, func(i, j int) bool { return len(olds[i]) > len(olds[j]) })
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, "***")
	}
	return &secretMasker{r: strings.NewReplacer(pairs...)}
}

// mask returns line with every secret replaced.
func (m *secretMasker) mask(line string) string {
	if m == nil || m.r == nil {
		return line
	}
	return m.r.Replace(line)
}
