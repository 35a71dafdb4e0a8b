package gateway_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	iofs "io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
)

// wireTypes are the Go types behind the description's schemas, by schema name.
var wireTypes = map[string]reflect.Type{
	"Error": reflect.TypeFor[api.Error](), "Health": reflect.TypeFor[api.Health](), "Config": reflect.TypeFor[api.Config](),
	"DeploymentRequest": reflect.TypeFor[api.DeploymentRequest](), "StartedDeployment": reflect.TypeFor[api.StartedDeployment](),
	"CanceledDeployment": reflect.TypeFor[api.CanceledDeployment](), "StepState": reflect.TypeFor[api.StepState](),
	"Commit": reflect.TypeFor[api.Commit](), "Plan": reflect.TypeFor[detect.Plan](), "Overrides": reflect.TypeFor[detect.Overrides](),
	"DeploymentStatus": reflect.TypeFor[api.DeploymentStatus](), "Deployment": reflect.TypeFor[api.Deployment](),
	"DeploymentList": reflect.TypeFor[api.DeploymentList](), "LogLine": reflect.TypeFor[api.LogLine](), "LogEnd": reflect.TypeFor[api.LogEnd](),
	"EnvVar": reflect.TypeFor[api.EnvVar](), "EnvVarInput": reflect.TypeFor[api.EnvVarInput](), "Watch": reflect.TypeFor[api.Watch](),
	"WatchInput": reflect.TypeFor[api.WatchInput](), "ProjectInput": reflect.TypeFor[api.ProjectInput](), "Project": reflect.TypeFor[api.Project](),
	"ProjectList": reflect.TypeFor[api.ProjectList](), "RollbackRequest": reflect.TypeFor[api.RollbackRequest](),
	"PollAnswer": reflect.TypeFor[api.PollAnswer](), "WebhookAck": reflect.TypeFor[api.WebhookAck](),
	"WebhookDeployments": reflect.TypeFor[api.WebhookDeployments](), "Attention": reflect.TypeFor[api.Attention](),
	"SignaledDeployment": reflect.TypeFor[api.SignaledDeployment](), "AbandonRequest": reflect.TypeFor[api.AbandonRequest](),
	"TokenInfo": reflect.TypeFor[api.TokenInfo](),
	// Uploaded folders (internal/api/upload.go).
	"UploadLimits": reflect.TypeFor[api.UploadLimits](), "UploadFile": reflect.TypeFor[api.UploadFile](),
	"UploadRequest": reflect.TypeFor[api.UploadRequest](), "Upload": reflect.TypeFor[api.Upload](),
	"UploadedContent": reflect.TypeFor[api.UploadedContent](), "UploadGit": reflect.TypeFor[api.UploadGit](),
	"UploadDeployRequest": reflect.TypeFor[api.UploadDeployRequest](), "UploadSource": reflect.TypeFor[api.UploadSource](),
}

// notStructs are schemas with no Go struct behind them, and why.
var notStructs = map[string]string{"Readiness": "a map of check name to result"}

// schema is the part of an OpenAPI schema the comparison reads.
type schema struct {
	Ref                  string             `yaml:"$ref"`
	Type                 string             `yaml:"type"`
	Format               string             `yaml:"format"`
	Required             []string           `yaml:"required"`
	Properties           map[string]*schema `yaml:"properties"`
	Items                *schema            `yaml:"items"`
	AllOf                []*schema          `yaml:"allOf"`
	AdditionalProperties any                `yaml:"additionalProperties"`
}

func loadSchemas(t *testing.T) map[string]*schema {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]*schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(gateway.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// flatten merges allOf parts (resolving references) into one object schema.
func flatten(all map[string]*schema, s *schema) *schema {
	if s.Ref != "" {
		return flatten(all, all[strings.TrimPrefix(s.Ref, "#/components/schemas/")])
	}
	if len(s.AllOf) == 0 {
		return s
	}
	out := &schema{Type: "object", Properties: map[string]*schema{}}
	for _, part := range s.AllOf {
		p := flatten(all, part)
		for k, v := range p.Properties {
			out.Properties[k] = v
		}
		out.Required = append(out.Required, p.Required...)
	}
	return out
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields lists t's fields by JSON name, embedded structs flattened.
func jsonFields(t reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && !hasTag {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{typ: f.Type, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}
	}
	return out
}

// checkType reports where the schema's type differs from the Go type's JSON form.
func checkType(t *testing.T, all map[string]*schema, where string, s *schema, gt reflect.Type) {
	t.Helper()
	for gt.Kind() == reflect.Pointer {
		gt = gt.Elem()
	}
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		if wireTypes[name] != gt {
			t.Errorf("%s refers to %s, but its Go type is %s", where, name, gt)
		}
		return
	}
	want := ""
	switch {
	case gt == reflect.TypeFor[time.Time]():
		want = "string"
		if s.Format != "date-time" {
			t.Errorf("%s is a time: want format date-time", where)
		}
	case gt.Kind() == reflect.String:
		want = "string"
	case gt.Kind() == reflect.Bool:
		want = "boolean"
	case gt.Kind() >= reflect.Int && gt.Kind() <= reflect.Uint64:
		want = "integer"
	case gt.Kind() == reflect.Slice:
		want = "array"
		if s.Items == nil {
			t.Errorf("%s is an array without items", where)
		} else {
			checkType(t, all, where+"[]", s.Items, gt.Elem())
		}
	case gt.Kind() == reflect.Map, gt.Kind() == reflect.Struct:
		want = "object"
	}
	if s.Type != want {
		t.Errorf("%s: type %q in the description, %q for Go's %s", where, s.Type, want, gt)
	}
}

// TestOpenAPISchemasMatchGoTypes compares every schema's properties with the json tags of its
// Go type in both directions, with their types, and requires exactly the fields the gateway
// always writes (no omitempty).
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	all := loadSchemas(t)
	for name := range all {
		if wireTypes[name] == nil && notStructs[name] == "" {
			t.Errorf("schema %s has no Go type in this test's wireTypes", name)
		}
	}
	for name, gt := range wireTypes {
		s := all[name]
		if s == nil {
			t.Errorf("Go type %s has no schema %s in gateway/openapi.yaml", gt, name)
			continue
		}
		s = flatten(all, s)
		fields := jsonFields(gt)
		var required []string
		for field, f := range fields {
			p := s.Properties[field]
			if p == nil {
				t.Errorf("%s.%s (json %q) is not a property of schema %s", gt, field, field, name)
				continue
			}
			checkType(t, all, name+"."+field, p, f.typ)
			if !f.omitEmpty {
				required = append(required, field)
			}
		}
		for prop := range s.Properties {
			if _, ok := fields[prop]; !ok {
				t.Errorf("schema %s has property %s, which %s has no json tag for", name, prop, gt)
			}
		}
		sort.Strings(required)
		got := append([]string(nil), s.Required...)
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(required, ",") {
			t.Errorf("schema %s requires [%s]; the Go fields without omitempty are [%s]", name, strings.Join(got, ", "), strings.Join(required, ", "))
		}
	}
}

// TestEveryWireTypeIsDescribed: each struct type declared in internal/api is a schema.
func TestEveryWireTypeIsDescribed(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), filepath.Join("..", "internal", "api"), func(fi iofs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.TYPE {
					continue
				}
				for _, sp := range g.Specs {
					ts := sp.(*ast.TypeSpec)
					if _, isStruct := ts.Type.(*ast.StructType); isStruct && ts.Name.IsExported() && wireTypes[ts.Name.Name] == nil {
						t.Errorf("internal/api.%s is not described in gateway/openapi.yaml (or not in wireTypes)", ts.Name.Name)
					}
				}
			}
		}
	}
}
