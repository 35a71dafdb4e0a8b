package detect

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestNodeSatisfies(t *testing.T) {
	cases := []struct {
		want  string
		have  string
		sat   bool
		known bool
	}{
		{">=18", "v20.11.1", true, true},
		{">=18.17.0", "v20.11.1", true, true},
		{">= 18", "v20.11.1", true, true},
		{">=22", "v20.11.1", false, true},
		{">=20.12", "v20.11.1", false, true},
		{">20", "v20.11.1", false, true}, // >20 means 21 and later
		{">20.11.0", "v20.11.1", true, true},
		{"<21", "v20.11.1", true, true},
		{"<=20", "v20.11.1", true, true},
		{"<20", "v20.11.1", false, true},
		{"^18 || ^20", "v20.11.1", true, true},
		{"^18 || ^22", "v20.11.1", false, true},
		{"^20.12.0", "v20.11.1", false, true},
		{"^20.0.0", "v20.11.1", true, true},
		{"~20.11", "v20.11.1", true, true},
		{"~20.10", "v20.11.1", false, true},
		{"18.x", "v20.11.1", false, true},
		{"20.x", "v20.11.1", true, true},
		{"20.*", "v20.11.1", true, true},
		{"20", "v20.11.1", true, true},
		{"v20", "v20.11.1", true, true},
		{"20.11.1", "v20.11.1", true, true},
		{"20.11.0", "v20.11.1", false, true},
		{"=20", "v20.11.1", true, true},
		{">=18 <21", "v20.11.1", true, true},
		{">=18 <20", "v20.11.1", false, true},
		{"18 - 20", "v20.11.1", true, true},
		{"16 - 18", "v20.11.1", false, true},
		{"*", "v20.11.1", true, true},
		{"x", "v20.11.1", true, true},
		{"", "v20.11.1", true, true},
		{">=18.0.0-rc.1", "v20.11.1", true, true},
		{"lts/*", "v20.11.1", true, true},
		{"lts/*", "v21.7.0", false, true},
		{"lts/iron", "v20.11.1", true, true},
		{"lts/hydrogen", "v20.11.1", false, true},
		{"lts/unknown", "v20.11.1", false, false},
		{"node", "v20.11.1", true, false},
		{"latest", "v20.11.1", true, false},
		{"banana", "v20.11.1", true, false},
		{">=18 || banana", "v20.11.1", true, true},
	}
	for _, c := range cases {
		have, _ := parseVersion(c.have)
		sat, known := nodeSatisfies(c.want, have)
		if known != c.known || known && sat != c.sat {
			t.Errorf("nodeSatisfies(%q, %s) = %v, %v; want %v, %v", c.want, c.have, sat, known, c.sat, c.known)
		}
	}
}

func TestCheckNode(t *testing.T) {
	cases := []struct {
		version, available string
		ok                 bool
		note               string
	}{
		{"", "v20.11.1", true, ""},
		{">=18", "v20.11.1", true, ""},
		{">=22", "v20.11.1", false, `asks for Node ">=22" (package.json engines.node) but this machine has Node v20.11.1`},
		{"node", "v20.11.1", true, "cannot check"},
		{">=18", "garbage", true, "cannot read the machine's Node version"},
	}
	for _, c := range cases {
		note, ok := CheckNode(Plan{NodeVersion: c.version, NodeVersionSource: "package.json engines.node"}, c.available)
		if ok != c.ok || !strings.Contains(note, c.note) || c.note == "" && note != "" {
			t.Errorf("CheckNode(%q, %q) = %q, %v; want ok %v and a note with %q", c.version, c.available, note, ok, c.ok, c.note)
		}
	}
}

func TestDetectNodeVersion(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		root    string
		version string
		source  string
	}{
		{"engines wins", map[string]string{"package.json": `{"engines": {"node": ">=18"}}`, ".nvmrc": "16\n"}, "", ">=18", "package.json engines.node"},
		{"nvmrc", map[string]string{"package.json": `{}`, ".nvmrc": "v18.19.0\n"}, "", "v18.19.0", ".nvmrc"},
		{"nvmrc comments", map[string]string{"package.json": `{}`, ".nvmrc": "# comment\n\n  lts/iron  # current\n"}, "", "lts/iron", ".nvmrc"},
		{"node-version", map[string]string{"package.json": `{}`, ".node-version": "20.11.1"}, "", "20.11.1", ".node-version"},
		{"nvmrc beats node-version", map[string]string{"package.json": `{}`, ".nvmrc": "20", ".node-version": "18"}, "", "20", ".nvmrc"},
		{"nearest file wins", map[string]string{".nvmrc": "18", "apps/web/package.json": `{}`, "apps/web/.node-version": "20"}, "apps/web", "20", "apps/web/.node-version"},
		{"root file", map[string]string{".nvmrc": "18", "apps/web/package.json": `{}`}, "apps/web", "18", ".nvmrc"},
		{"none", map[string]string{"package.json": `{}`}, "", "", ""},
	}
	for _, c := range cases {
		fsys := fstest.MapFS{}
		for name, data := range c.files {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
		p, err := Detect(fsys, Overrides{RootDir: c.root, BuildCommand: "true"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.NodeVersion != c.version || p.NodeVersionSource != c.source {
			t.Errorf("%s: got %q from %q, want %q from %q", c.name, p.NodeVersion, p.NodeVersionSource, c.version, c.source)
		}
	}
}
