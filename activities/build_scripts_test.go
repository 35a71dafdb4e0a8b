package activities

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/detect"
)

func TestSkippedScriptsFromOutput(t *testing.T) {
	c := newSkippedScriptsCollector()
	for _, l := range []string{
		"npm warn install-scripts 2 packages have install scripts not yet covered by allowScripts:",
		"npm warn install-scripts   esbuild@0.25.12 (postinstall: node install.js)",
		"npm warn install-scripts   @parcel/watcher@2.4.1 (install: node scripts/build-from-source.js)",
		"npm warn install-scripts",
		"│   Ignored build scripts: sharp, core-js.                                    │",
		"added 13 packages in 5s",
	} {
		c.add(l)
	}
	want := map[string]string{"esbuild@0.25.12": "postinstall", "@parcel/watcher@2.4.1": "install", "sharp": "", "core-js": ""}
	if len(c.skipped) != len(want) {
		t.Fatalf("skipped = %v", c.skipped)
	}
	for k, v := range want {
		if got, ok := c.skipped[k]; !ok || got != v {
			t.Errorf("skipped[%q] = %q, %v", k, got, ok)
		}
	}
}

func TestInstallScriptsScanAndSummary(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "node_modules/esbuild/package.json"), `{"name":"esbuild","version":"0.25.12","scripts":{"postinstall":"node install.js"}}`)
	writeFile(t, filepath.Join(ws, "node_modules/esbuild/lib/package.json"), `{"name":"not-a-package","version":"1","scripts":{"install":"x"}}`)
	writeFile(t, filepath.Join(ws, "node_modules/@scope/native/package.json"), `{"name":"@scope/native","version":"1.0.0"}`)
	writeFile(t, filepath.Join(ws, "node_modules/@scope/native/binding.gyp"), `{}`)
	writeFile(t, filepath.Join(ws, "node_modules/plain/package.json"), `{"name":"plain","version":"2.0.0","scripts":{"test":"x"}}`)
	writeFile(t, filepath.Join(ws, "node_modules/.pnpm/core-js@3.40.0/node_modules/core-js/package.json"), `{"name":"core-js","version":"3.40.0","scripts":{"postinstall":"node -e x"}}`)
	have := installScriptsIn(ws, []string{"node_modules"}, 1000)
	var names []string
	for _, p := range have {
		names = append(names, p.String())
	}
	if got := strings.Join(names, " "); got != "@scope/native@1.0.0 (install) core-js@3.40.0 (postinstall) esbuild@0.25.12 (postinstall)" {
		t.Fatalf("scan = %s", got)
	}
	msg := installScriptsSummary(detect.NPM, have, map[string]string{"esbuild@0.25.12": "postinstall"})
	for _, want := range []string{"3 dependencies have them", "ran: @scope/native@1.0.0 (install), core-js@3.40.0 (postinstall)",
		"NOT run: esbuild@0.25.12 (postinstall)", "npm install-scripts approve esbuild", "npm_config_allow_scripts=esbuild"} {
		if !strings.Contains(msg, want) {
			t.Errorf("summary lacks %q: %s", want, msg)
		}
	}
	if msg := installScriptsSummary(detect.PNPM, nil, map[string]string{"sharp": ""}); !strings.Contains(msg, "NOT run: sharp") || !strings.Contains(msg, "pnpm approve-builds") {
		t.Errorf("pnpm summary: %s", msg)
	}
	if msg := installScriptsSummary(detect.NPM, nil, nil); msg != "" {
		t.Errorf("nothing to say, said %q", msg)
	}
}
