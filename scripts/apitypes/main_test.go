package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFileIsCurrent fails when web/src/api.gen.ts is not what the description makes:
// run `make api-types` after changing gateway/openapi.yaml.
func TestGeneratedFileIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	spec, err := os.ReadFile(filepath.Join(root, "gateway", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "web", "src", "api.gen.ts"))
	if err != nil {
		t.Fatalf("%v: run make api-types", err)
	}
	if string(got) != string(want) {
		t.Fatal("web/src/api.gen.ts is stale: run make api-types")
	}
}

func TestGenerate(t *testing.T) {
	spec := `
components:
  schemas:
    Thing:
      type: object
      description: a thing
      required: [id, tags]
      properties:
        id: {type: string}
        count: {type: integer, description: how many}
        tags: {type: array, items: {type: string, enum: [a, b]}}
        on: {type: boolean, default: true}
        parent: {$ref: "#/components/schemas/Thing"}
        extra: {type: object, additionalProperties: {type: string}}
    Both:
      allOf:
        - $ref: "#/components/schemas/Thing"
        - type: object
          properties:
            more: {type: string}
`
	got, err := Generate([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	want := `
/** a thing */
export type Thing = {
  id: string;
  /** how many */
  count?: number;
  tags: ('a' | 'b')[];
  /** (default true) */
  on?: boolean;
  parent?: Thing;
  extra?: Record<string, string>;
};

export type Both = Thing & {
  more?: string;
};
`
	if !strings.HasSuffix(string(got), want) {
		t.Fatalf("generated:\n%s\nwant the end to be:\n%s", got, want)
	}
	for _, bad := range []string{
		"components:\n  schemas:\n    X: {type: object, properties: {a: {oneOf: [{type: string}]}}}\n",
		"components:\n  schemas:\n    X: {type: object, properties: {a: {type: null}}}\n",
		"components:\n  schemas:\n    X: {$ref: 'other.yaml#/X'}\n",
	} {
		if _, err := Generate([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
