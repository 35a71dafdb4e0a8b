package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current output")

// machineNode is the Node the fixtures are checked against, like the build machine's.
const machineNode = "v20.11.1"

// fixtures are the trees under testdata/, each with the settings it is detected with; its
// result is compared to testdata/golden/<name>.json.
var fixtures = []struct {
	name string
	o    Overrides
}{
	{name: "vite-react"},
	{name: "vite-vue"},
	{name: "vite-svelte"},
	{name: "vite-vanilla-pnpm"},
	{name: "cra"},
	{name: "vue-cli"},
	{name: "angular"},
	{name: "sveltekit-static"},
	{name: "sveltekit-node"},
	{name: "sveltekit-vite-config"},
	{name: "sveltekit-vite-config-auto"},
	{name: "astro"},
	{name: "nextjs-export"},
	{name: "nextjs-server"},
	{name: "nuxt-generate"},
	{name: "gatsby"},
	{name: "docusaurus-yarn"},
	{name: "eleventy"},
	{name: "hugo"},
	{name: "jekyll"},
	{name: "node-build-script"},
	{name: "yarn-berry"},
	{name: "bun-lockfile"},
	{name: "static-root"},
	{name: "static-public"},
	{name: "static-docs"},
	{name: "static-no-index"},
	{name: "monorepo", o: Overrides{RootDir: "apps/web"}},
	{name: "overrides", o: Overrides{InstallCommand: "npm install --legacy-peer-deps", BuildCommand: "npm run build:prod", OutputDir: "dist/app/", SPA: boolPtr(false)}},
	{name: "custom-build", o: Overrides{BuildCommand: "make", OutputDir: "out"}},
	{name: "unsupported"},
	{name: "invalid-package-json"},
	{name: "node-version-nvmrc"},
	{name: "node-version-too-new"},
}

func boolPtr(b bool) *bool { return &b }

// golden is what a fixture's golden file holds: a plan or an error.
type golden struct {
	Overrides *Overrides   `json:"overrides,omitempty"`
	Plan      *Plan        `json:"plan,omitempty"`
	Error     *goldenError `json:"error,omitempty"`
}

type goldenError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func result(o Overrides, plan Plan, err error) golden {
	g := golden{}
	if o != (Overrides{}) {
		g.Overrides = &o
	}
	if err != nil {
		g.Error = &goldenError{Type: fmt.Sprintf("%T", err), Message: err.Error()}
		return g
	}
	g.Plan = &plan
	return g
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			o := fx.o
			o.NodeAvailable = machineNode
			plan, err := Detect(os.DirFS(filepath.Join("testdata", fx.name)), o)
			o.NodeAvailable = ""
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep ">=22" readable
			enc.SetIndent("", "  ")
			if err := enc.Encode(result(fx.o, plan, err)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			file := filepath.Join("testdata", "golden", fx.name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/detect/ -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan differs from %s (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}

// TestFixturesListed keeps testdata/ and the fixtures table in step: every tree has an entry
// and a golden file, and no golden file is left over.
func TestFixturesListed(t *testing.T) {
	listed := map[string]bool{}
	for _, fx := range fixtures {
		listed[fx.name] = true
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "golden" && !listed[e.Name()] {
			t.Errorf("testdata/%s is not in the fixtures table", e.Name())
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	for _, g := range goldens {
		if name := strings.TrimSuffix(filepath.Base(g), ".json"); !listed[name] {
			t.Errorf("%s has no fixture", g)
		}
	}
}

// TestFixtureKinds checks the properties the goldens must keep, so that an -update cannot
// silently bless a wrong plan.
func TestFixtureKinds(t *testing.T) {
	type want struct {
		kind      Kind
		framework string
		output    string
		spa       bool
	}
	cases := map[string]want{
		"vite-react":        {KindNode, "vite", "dist", true},
		"vite-vue":          {KindNode, "vite", "dist", true},
		"vite-svelte":       {KindNode, "vite", "www", true},
		"vite-vanilla-pnpm": {KindNode, "vite", "dist", true},
		"cra":               {KindNode, "cra", "build", true},
		"vue-cli":           {KindNode, "vue-cli", "dist", true},
		"angular":           {KindNode, "angular", "dist/my-app/browser", true},
		"sveltekit-static":  {KindNode, "sveltekit", "build", false},
		"astro":             {KindNode, "astro", "dist", false},
		"nextjs-export":     {KindNode, "nextjs", "out", false},
		"nuxt-generate":     {KindNode, "nuxt", ".output/public", false},
		"gatsby":            {KindNode, "gatsby", "public", false},
		"docusaurus-yarn":   {KindNode, "docusaurus", "build", false},
		"eleventy":          {KindNode, "eleventy", "_site", false},
		"hugo":              {KindGenerator, "hugo", "public", false},
		"jekyll":            {KindGenerator, "jekyll", "_site", false},
		"node-build-script": {KindNode, "node", "dist", false},
		"static-root":       {KindStatic, "", "", false},
		"static-public":     {KindStatic, "", "public", false},
		"static-docs":       {KindStatic, "", "docs", false},
		"static-no-index":   {KindStatic, "", "", false},
		"monorepo":          {KindNode, "vite", "dist", true},
		"overrides":         {KindNode, "vite", "dist/app", false},
		"custom-build":      {KindNode, "custom", "out", false},
	}
	for _, fx := range fixtures {
		w, ok := cases[fx.name]
		if !ok {
			continue
		}
		p, err := Detect(os.DirFS(filepath.Join("testdata", fx.name)), fx.o)
		if err != nil {
			t.Errorf("%s: %v", fx.name, err)
			continue
		}
		if p.Kind != w.kind || p.Framework != w.framework || p.OutputDir != w.output || p.SPA != w.spa {
			t.Errorf("%s: got kind=%s framework=%q output=%q spa=%v, want %+v", fx.name, p.Kind, p.Framework, p.OutputDir, p.SPA, w)
		}
	}
}

func TestUnsupportedFixtures(t *testing.T) {
	for _, name := range []string{"sveltekit-node", "nextjs-server", "unsupported"} {
		_, err := Detect(os.DirFS(filepath.Join("testdata", name)), Overrides{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) {
			t.Errorf("%s: got %v, want *UnsupportedError", name, err)
		}
	}
	_, err := Detect(os.DirFS("testdata/invalid-package-json"), Overrides{})
	var ie *InvalidProjectError
	if !errors.As(err, &ie) || ie.File != "package.json" || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("invalid package.json: got %v, want *InvalidProjectError at line 5", err)
	}
}

func TestOverridesErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"apps/web/index.html": {Data: []byte("<h1>hi</h1>")},
		"README.md":           {Data: []byte("# hi")},
	}
	cases := []struct {
		o       Overrides
		setting string
	}{
		{Overrides{RootDir: "/apps/web"}, "rootDir"},
		{Overrides{RootDir: "../other"}, "rootDir"},
		{Overrides{RootDir: "apps/../../etc"}, "rootDir"},
		{Overrides{RootDir: `apps\web`}, "rootDir"},
		{Overrides{RootDir: "apps/mobile"}, "rootDir"},
		{Overrides{RootDir: "README.md"}, "rootDir"},
		{Overrides{RootDir: "apps/web", OutputDir: "/var/www"}, "outputDir"},
		{Overrides{RootDir: "apps/web", OutputDir: "../dist"}, "outputDir"},
		{Overrides{RootDir: "apps/web", Framework: "rails"}, "framework"},
		{Overrides{RootDir: "apps/web", Framework: "vite"}, "framework"}, // no package.json
	}
	for _, c := range cases {
		_, err := Detect(fsys, c.o)
		var oe *OverrideError
		if !errors.As(err, &oe) || oe.Setting != c.setting || !strings.HasPrefix(err.Error(), "invalid setting "+c.setting) {
			t.Errorf("%+v: got %v, want *OverrideError for %s", c.o, err, c.setting)
		}
	}
	for _, root := range []string{"apps/web", "./apps/web/", "apps//web"} {
		p, err := Detect(fsys, Overrides{RootDir: root})
		if err != nil || p.Kind != KindStatic || p.RootDir != "apps/web" {
			t.Errorf("rootDir %q: got %+v, %v", root, p, err)
		}
	}
}

func TestLargePackageJSON(t *testing.T) {
	big := `{"name": "big", "description": "` + strings.Repeat("x", maxFileSize) + `"}`
	_, err := Detect(fstest.MapFS{"package.json": {Data: []byte(big)}}, Overrides{})
	var ie *InvalidProjectError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want *InvalidProjectError for size", err)
	}
}

func TestEmptyAndOddTrees(t *testing.T) {
	_, err := Detect(fstest.MapFS{}, Overrides{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("empty tree: got %v", err)
	}
	for name, data := range map[string]string{"[]": "[]", "null": "null", "string": `"x"`} {
		_, err := Detect(fstest.MapFS{"package.json": {Data: []byte(data)}}, Overrides{})
		var ie *InvalidProjectError
		if !errors.As(err, &ie) {
			t.Errorf("package.json %s: got %v, want *InvalidProjectError", name, err)
		}
	}
	// Wrongly typed fields are ignored, as npm ignores them.
	p, err := Detect(fstest.MapFS{
		"package.json": {Data: []byte(`{"engines": "node", "scripts": {"build": "make"}, "dependencies": []}`)},
	}, Overrides{})
	if err != nil || p.Framework != "node" {
		t.Errorf("odd field types: got %+v, %v", p, err)
	}
	// package.json without a build script beside index.html: served as it is.
	p, err = Detect(fstest.MapFS{
		"package.json": {Data: []byte(`{"devDependencies": {"live-server": "^1.2.2"}}`)},
		"index.html":   {Data: []byte("<h1>hi</h1>")},
	}, Overrides{})
	if err != nil || p.Kind != KindStatic || p.NeedsBuild() {
		t.Errorf("package.json without build: got %+v, %v", p, err)
	}
	// ... but without index.html beside it, it is not a project.
	_, err = Detect(fstest.MapFS{
		"package.json":      {Data: []byte(`{"dependencies": {"express": "^4"}}`)},
		"public/index.html": {Data: []byte("<h1>hi</h1>")},
	}, Overrides{})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no build script") {
		t.Errorf("package.json without build and without index.html: got %v", err)
	}
}

func TestForcedFramework(t *testing.T) {
	fsys := fstest.MapFS{
		"package.json": {Data: []byte(`{"scripts": {"build": "vite build"}, "devDependencies": {"vite": "^5"}}`)},
		"index.html":   {Data: []byte("<h1>hi</h1>")},
	}
	p, err := Detect(fsys, Overrides{Framework: "static"})
	if err != nil || p.Kind != KindStatic {
		t.Errorf("forced static: got %+v, %v", p, err)
	}
	p, err = Detect(fsys, Overrides{Framework: "cra", SPA: boolPtr(false)})
	if err != nil || p.Framework != "cra" || p.OutputDir != "build" || p.SPA {
		t.Errorf("forced cra: got %+v, %v", p, err)
	}
	ids := Frameworks()
	if ids[0] != "nextjs" || ids[len(ids)-2] != "node" || ids[len(ids)-1] != "static" {
		t.Errorf("Frameworks() = %v: want meta-frameworks first, then generic node, then static", ids)
	}
}

func TestOutputDirOverrideAllowsUnsupportedFrameworks(t *testing.T) {
	p, err := Detect(os.DirFS("testdata/nextjs-server"), Overrides{OutputDir: "out"})
	if err != nil || p.OutputDir != "out" || p.Framework != "nextjs" {
		t.Errorf("got %+v, %v", p, err)
	}
}

func TestConfigString(t *testing.T) {
	cases := []struct{ text, key, want string }{
		{"build: { outDir: 'public/app' }", "outDir", "public/app"},
		{`build: {"outDir": "x"}`, "outDir", "x"},
		{"// outDir: 'commented'\nbuild: { outDir: `real` }", "outDir", "real"},
		{"/* outDir: 'a' */ outDir: \"b\"", "outDir", "b"},
		{"myoutDir: 'no'", "outDir", ""},
		{"outDir: resolve(__dirname, 'x')", "outDir", ""},
	}
	for _, c := range cases {
		if got := configString(c.text, c.key); got != c.want {
			t.Errorf("configString(%q, %q) = %q, want %q", c.text, c.key, got, c.want)
		}
	}
}
