package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/config"
)

type openAPIDoc struct {
	OpenAPI    string                    `yaml:"openapi"`
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas         map[string]any `yaml:"schemas"`
		SecuritySchemes map[string]any `yaml:"securitySchemes"`
	} `yaml:"components"`
	Security []map[string][]string `yaml:"security"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}

func loadSpec(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(gateway.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	return doc
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// TestOpenAPIDescribesEveryRoute compares the gateway's routes with the description's paths
// and methods in both directions.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv := gateway.New(gateway.Deps{Config: config.Default()})
	routes := map[string]bool{}
	for _, r := range srv.Routes() {
		routes[strings.ToUpper(r.Method)+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	doc := loadSpec(t)
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if httpMethods[m] {
				described[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	var missing, extra []string
	for r := range routes {
		if !described[r] {
			missing = append(missing, r)
		}
	}
	for d := range described {
		if !routes[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, r := range missing {
		t.Errorf("route %s is not in gateway/openapi.yaml", r)
	}
	for _, d := range extra {
		t.Errorf("gateway/openapi.yaml describes %s, which the gateway does not serve", d)
	}
}

// TestOpenAPIReferencesAndSecurity checks that every $ref resolves, that the named schemas
// exist, and that exactly the public endpoints declare no security.
func TestOpenAPIReferencesAndSecurity(t *testing.T) {
	doc := loadSpec(t)
	for _, name := range []string{"Deployment", "DeploymentStatus", "StepState", "Project", "ProjectInput", "Error", "StartedDeployment"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("schema %s missing", name)
		}
	}
	if doc.Components.SecuritySchemes["bearer"] == nil || len(doc.Security) == 0 {
		t.Error("no global bearer security")
	}
	var raw map[string]any
	if err := yaml.Unmarshal(gateway.OpenAPI, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range emptyKeys(raw, "", nil) {
		t.Errorf("%s has no value (an unquoted comma in a {flow: mapping} makes one)", key)
	}
	for _, ref := range collectRefs(raw, nil) {
		if !resolves(raw, ref) {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
	public := map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/api/config": true,
		"/api/openapi.yaml": true, "/api/webhooks/github": true}
	for path, ops := range doc.Paths {
		for m, o := range ops {
			op, isOp := o.(map[string]any)
			if !httpMethods[m] || !isOp {
				continue
			}
			sec, declared := op["security"]
			open := declared && len(sec.([]any)) == 0
			if open != public[path] {
				t.Errorf("%s %s: public=%v in the description, want %v", strings.ToUpper(m), path, open, public[path])
			}
			if op["responses"] == nil {
				t.Errorf("%s %s has no responses", strings.ToUpper(m), path)
			}
		}
	}
}

// emptyKeys lists the keys whose value is null.
func emptyKeys(v any, path string, acc []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				acc = append(acc, path+"/"+k)
			}
			acc = emptyKeys(e, path+"/"+k, acc)
		}
	case []any:
		for i, e := range x {
			acc = emptyKeys(e, fmt.Sprintf("%s[%d]", path, i), acc)
		}
	}
	return acc
}

func collectRefs(v any, acc []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				acc = append(acc, s)
				continue
			}
			acc = collectRefs(e, acc)
		}
	case []any:
		for _, e := range x {
			acc = collectRefs(e, acc)
		}
	}
	return acc
}

func resolves(root map[string]any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = root
	for _, seg := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIServedWithoutToken checks GET /api/openapi.yaml answers without a token on a
// gateway that requires them, while other API routes do not.
func TestOpenAPIServedWithoutToken(t *testing.T) {
	cfg := config.Default()
	cfg.RequireAuth = true
	srv := httptest.NewServer(gateway.New(gateway.Deps{Config: cfg}).Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "yaml") || string(body) != string(gateway.OpenAPI) {
		t.Fatalf("GET /api/openapi.yaml = %d %q (%d bytes)", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	res, err = http.Get(srv.URL + "/api/deployments")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/deployments without a token = %d, want 401", res.StatusCode)
	}
	res, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "skydeploy_gateway_requests_total") {
		t.Fatalf("GET /metrics = %d, lacks the request counter:\n%.500s", res.StatusCode, body)
	}
}
