package detect

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// nodeVersionFiles are read, walking up from the project directory, when package.json has no
// engines.node; nvm and most version managers look upward the same way.
var nodeVersionFiles = []string{".nvmrc", ".node-version"}

// ltsCodenames maps nvm's lts/<name> aliases to their Node major.
var ltsCodenames = map[string]int{
	"argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12, "fermium": 14,
	"gallium": 16, "hydrogen": 18, "iron": 20, "jod": 22, "krypton": 24,
}

// detectNodeVersion returns the Node version the project asks for and where it says so:
// package.json engines.node first, then .nvmrc, then .node-version.
func detectNodeVersion(p *project) (version, source string, err error) {
	if p.pkg != nil && p.pkg.EnginesNode != "" {
		return p.pkg.EnginesNode, "package.json engines.node", nil
	}
	for _, dir := range ancestors(p.root) {
		for _, name := range nodeVersionFiles {
			file := path.Join(dir, name)
			if !exists(p.repo, file) {
				continue
			}
			b, err := readLimited(p.repo, file, file)
			if err != nil {
				return "", "", err
			}
			if v := firstVersionLine(string(b)); v != "" {
				return v, file, nil
			}
		}
	}
	return "", "", nil
}

// firstVersionLine is the first line of a .nvmrc that is neither blank nor a # comment.
func firstVersionLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// CheckNode says whether the Node version the plan asks for (plan.NodeVersion) is satisfied by
// the machine's Node, available (e.g. "v20.11.1" from `node --version`). ok is false only when
// the request certainly cannot be met; note then explains it for the build log. A request it
// cannot read (or "latest") is reported with a note and ok true: the build is tried anyway.
// The check is advisory: it never fails a plan by itself.
func CheckNode(plan Plan, available string) (note string, ok bool) {
	want := strings.TrimSpace(plan.NodeVersion)
	if want == "" {
		return "", true
	}
	have, good := parseVersion(available)
	if !good {
		return fmt.Sprintf("cannot read the machine's Node version %q to check it against %q", available, want), true
	}
	source := ""
	if plan.NodeVersionSource != "" {
		source = " (" + plan.NodeVersionSource + ")"
	}
	sat, known := nodeSatisfies(want, have)
	switch {
	case !known:
		return fmt.Sprintf("the project asks for Node %q%s, which SkyDeploy cannot check; building with Node %s", want, source, formatVersion(have)), true
	case !sat:
		return fmt.Sprintf("the project asks for Node %q%s but this machine has Node %s; the build may fail", want, source, formatVersion(have)), false
	}
	return "", true
}

// nodeSatisfies reports whether have satisfies want: an npm semver range (the common subset:
// ||, space-separated comparators, hyphen ranges, ^ ~ >= > <= < =, x/* wildcards and partial
// versions) or an nvm alias (lts/*, lts/<codename>, node, latest). known is false when want
// cannot be read or cannot be judged offline ("node" means the newest release).
func nodeSatisfies(want string, have [3]int) (sat, known bool) {
	w := strings.ToLower(strings.TrimSpace(want))
	switch {
	case w == "lts/*" || w == "lts" || w == "lts/-1":
		return have[0] >= 4 && have[0]%2 == 0, true
	case strings.HasPrefix(w, "lts/"):
		major, ok := ltsCodenames[strings.TrimPrefix(w, "lts/")]
		return have[0] == major, ok
	case w == "node" || w == "latest" || w == "current" || w == "stable":
		return true, false
	}
	for _, alt := range strings.Split(w, "||") {
		s, ok := satisfiesAll(strings.TrimSpace(alt), have)
		if !ok {
			return true, false
		}
		if s {
			return true, true
		}
	}
	return false, true
}

// satisfiesAll checks one ||-alternative: a hyphen range or space-separated comparators.
func satisfiesAll(set string, have [3]int) (sat, ok bool) {
	if lo, hi, found := strings.Cut(set, " - "); found {
		a, ok1 := comparator(">=", strings.TrimSpace(lo))
		b, ok2 := comparator("<=", strings.TrimSpace(hi))
		return a(have) && b(have), ok1 && ok2
	}
	tokens := strings.Fields(set)
	if len(tokens) == 0 {
		return true, true // "" and "||" alternatives match anything, as in npm
	}
	sat = true
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		if leadingOp(tok) == tok && i+1 < len(tokens) { // ">= 18": the operator stands alone
			i++
			tok += tokens[i]
		}
		op := leadingOp(tok)
		f, good := comparator(op, strings.TrimPrefix(tok, op))
		if !good {
			return false, false
		}
		sat = sat && f(have)
	}
	return sat, true
}

func leadingOp(tok string) string {
	for _, op := range []string{">=", "<=", ">", "<", "=", "^", "~"} {
		if strings.HasPrefix(tok, op) {
			return op
		}
	}
	return ""
}

// comparator turns an operator and a possibly partial version ("18", "18.x", "18.17") into a test.
func comparator(op, v string) (func([3]int) bool, bool) {
	nums, n, ok := parsePartial(v)
	if !ok {
		return nil, false
	}
	lower := nums          // nums with missing parts as 0
	upper := bump(nums, n) // first version past the partial one
	ge := func(x [3]int) func([3]int) bool { return func(h [3]int) bool { return cmpVersion(h, x) >= 0 } }
	lt := func(x [3]int) func([3]int) bool { return func(h [3]int) bool { return cmpVersion(h, x) < 0 } }
	between := func(lo, hi [3]int) func([3]int) bool {
		return func(h [3]int) bool { return cmpVersion(h, lo) >= 0 && cmpVersion(h, hi) < 0 }
	}
	if n == 0 {
		if op == "<" || op == ">" {
			return func([3]int) bool { return false }, true
		}
		return func([3]int) bool { return true }, true
	}
	switch op {
	case "", "=":
		return between(lower, upper), true
	case ">=":
		return ge(lower), true
	case ">":
		if n == 3 {
			return func(h [3]int) bool { return cmpVersion(h, lower) > 0 }, true
		}
		return ge(upper), true
	case "<":
		return lt(lower), true
	case "<=":
		return lt(upper), true
	case "~":
		if n == 1 {
			return between(lower, bump(nums, 1)), true
		}
		return between(lower, bump(nums, 2)), true
	case "^":
		switch {
		case nums[0] > 0 || n == 1:
			return between(lower, bump(nums, 1)), true
		case nums[1] > 0 || n == 2:
			return between(lower, bump(nums, 2)), true
		default:
			return between(lower, bump(nums, 3)), true
		}
	}
	return nil, false
}

// parsePartial reads "v18", "18.x", "18.17.*", "18.17.1" (a prerelease or build suffix is
// dropped): the numbers given, zero-filled, and how many were given before a wildcard.
func parsePartial(v string) (nums [3]int, n int, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	if v == "" {
		return nums, 0, false
	}
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		return nums, 0, false
	}
	for _, part := range parts {
		if part == "x" || part == "X" || part == "*" {
			return nums, n, true
		}
		x, err := strconv.Atoi(part)
		if err != nil || x < 0 {
			return nums, 0, false
		}
		nums[n] = x
		n++
	}
	return nums, n, true
}

// bump returns the first version after nums whose first n parts are fixed: bump(18.17.0, 1) = 19.0.0.
func bump(nums [3]int, n int) [3]int {
	if n <= 0 || n > 3 {
		return nums
	}
	var out [3]int
	copy(out[:n], nums[:n])
	out[n-1]++
	return out
}

// parseVersion reads a full or partial version such as "v20.11.1" or "20", zero-filling.
func parseVersion(s string) ([3]int, bool) {
	nums, n, ok := parsePartial(s)
	return nums, ok && n > 0
}

func cmpVersion(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func formatVersion(v [3]int) string { return fmt.Sprintf("v%d.%d.%d", v[0], v[1], v[2]) }
