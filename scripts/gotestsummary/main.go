// Command gotestsummary reads `go test -json` output and prints the output of failed tests and,
// with -final, one closing line: "N passed, N failed, N skipped". It must never import
// SkyDeploy's packages: it reads text.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	final := flag.Bool("final", false, "print only the closing count line")
	flag.Parse()
	var passed, failed, skipped int
	outputs := map[string]*strings.Builder{}
	var failures []string
	pkgTimes := map[string]float64{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			if b.Len() < 64<<10 {
				b.WriteString(e.Output)
			}
		case "pass":
			if e.Test != "" {
				passed++
			} else {
				pkgTimes[e.Package] = e.Elapsed
			}
		case "fail":
			if e.Test != "" {
				failed++
				failures = append(failures, key)
			} else {
				pkgTimes[e.Package] = e.Elapsed
				if _, ok := outputs[key]; ok && !hasTestFailure(failures, e.Package) {
					failures = append(failures, key) // build failure or panic outside a test
				}
			}
		case "skip":
			if e.Test != "" {
				skipped++
			}
		}
	}
	if !*final {
		pkgs := make([]string, 0, len(pkgTimes))
		for p := range pkgTimes {
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
		for _, p := range pkgs {
			fmt.Printf("  %-60s %6.1fs\n", p, pkgTimes[p])
		}
		for _, f := range failures {
			fmt.Printf("--- FAIL %s\n%s\n", f, outputs[f])
		}
		return
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
}

func hasTestFailure(failures []string, pkg string) bool {
	for _, f := range failures {
		if strings.HasPrefix(f, pkg+" ") && !strings.HasSuffix(f, " ") {
			return true
		}
	}
	return false
}
