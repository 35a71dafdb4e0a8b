package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/config"
)

var (
	// A SKYDEPLOY_* name used as a key: `  SKYDEPLOY_X: v`, `  - SKYDEPLOY_X=v`, `SKYDEPLOY_X=v`,
	// `ENV SKYDEPLOY_X=v \`, `Environment=SKYDEPLOY_X=v`, `#   SKYDEPLOY_X=v` (documented examples).
	keyRe = regexp.MustCompile(`(?:^|[\s-]|Environment=)(SKYDEPLOY_[A-Z0-9_]+)\s*[:=]`)
	// A SKYDEPLOY_* name interpolated by Compose: ${SKYDEPLOY_X}, ${SKYDEPLOY_X:-default}.
	interpRe = regexp.MustCompile(`\$\{(SKYDEPLOY_[A-Z0-9_]+)`)
)

// settingNames returns every SKYDEPLOY_* variable a deployment file sets or interpolates, with
// the first line it is on.
func settingNames(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		for _, re := range []*regexp.Regexp{keyRe, interpRe} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				if _, ok := names[m[1]]; !ok {
					names[m[1]] = n
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	dir, err := deployDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "..", rel)
}

// TestDeploymentFilesUseKnownSettings fails when a deployment file sets a SKYDEPLOY_* variable
// that the program does not read (a typo, or a setting that was renamed or removed).
func TestDeploymentFilesUseKnownSettings(t *testing.T) {
	known := map[string]bool{}
	for _, n := range config.Names() {
		known[n] = true
	}
	if len(known) < 20 {
		t.Fatalf("config.Names() lists only %d names", len(known))
	}
	files := []string{
		"temporal-compose.yml", ".env.example", "Dockerfile",
		"deploy/systemd/env.example",
		"deploy/systemd/skydeploy-gateway.service", "deploy/systemd/skydeploy-worker.service",
		"deploy/systemd/skydeploy-build-worker.service", "deploy/systemd/skydeploy-serve.service",
	}
	for _, rel := range files {
		names := settingNames(t, repoFile(t, rel))
		if len(names) == 0 && (rel == "temporal-compose.yml" || rel == ".env.example") {
			t.Errorf("%s: no SKYDEPLOY_* settings found; the scan is broken", rel)
		}
		var unknown []string
		for n, line := range names {
			if !known[n] {
				unknown = append(unknown, n+" (line "+strconv.Itoa(line)+")")
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("%s sets settings the program does not read: %s", rel, strings.Join(unknown, ", "))
		}
	}
}

// TestEnvExampleDocumentsComposeSettings keeps .env.example complete: every SKYDEPLOY_* setting
// the compose file takes from the environment is documented there.
func TestEnvExampleDocumentsComposeSettings(t *testing.T) {
	compose := repoFile(t, "temporal-compose.yml")
	env := settingNames(t, repoFile(t, ".env.example"))
	b, err := os.ReadFile(compose)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	seen := map[string]bool{}
	for _, m := range interpRe.FindAllStringSubmatch(string(b), -1) {
		if _, ok := env[m[1]]; !ok && !seen[m[1]] {
			missing = append(missing, m[1])
		}
		seen[m[1]] = true
	}
	if len(missing) > 0 {
		t.Errorf(".env.example does not document %s", strings.Join(missing, ", "))
	}
}

func TestSettingScanFindsUnknownNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "compose.yml")
	content := "services:\n  x:\n    environment:\n      SKYDEPLOY_GATEWAY_ADDR: \":3001\"\n      - SKYDEPLOY_NOT_A_SETTING=1\n      B: ${SKYDEPLOY_TYPO:-x}\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	names := settingNames(t, p)
	for _, want := range []string{"SKYDEPLOY_GATEWAY_ADDR", "SKYDEPLOY_NOT_A_SETTING", "SKYDEPLOY_TYPO"} {
		if _, ok := names[want]; !ok {
			t.Errorf("scan missed %s in %v", want, names)
		}
	}
}

// TestComposeConfig validates temporal-compose.yml with docker-compose (v1, as Debian ships it)
// and with Compose v2 when `docker compose` is available.
func TestComposeConfig(t *testing.T) {
	compose := repoFile(t, "temporal-compose.yml")
	env := repoFile(t, ".env.example")
	ran := false
	if bin, err := exec.LookPath("docker-compose"); err == nil {
		ran = true
		for _, args := range [][]string{
			{"-f", compose, "config", "-q"},
			{"-f", compose, "--env-file", env, "--profile", "local-s3", "config", "-q"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Env = composeEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}
	if docker, err := exec.LookPath("docker"); err == nil {
		if exec.Command(docker, "compose", "version").Run() == nil {
			ran = true
			cmd := exec.Command(docker, "compose", "-f", compose, "--env-file", env, "config", "-q")
			cmd.Env = composeEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("docker compose config: %v\n%s", err, out)
			}
		}
	}
	if !ran {
		t.Skip("neither docker-compose nor docker compose is installed (CI installs docker-compose)")
	}
}

// composeEnv is the environment without SKYDEPLOY_* and compose variables of the developer's
// shell, so the file is checked with its own defaults.
func composeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SKYDEPLOY_") || strings.HasPrefix(kv, "COMPOSE_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
