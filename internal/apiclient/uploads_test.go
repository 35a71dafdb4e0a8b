package apiclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
)

// TestUploadCalls: the manifest and the deploy request are JSON, a content is its raw bytes
// with its length, and an error answer is an *apiclient.Error with the gateway's message.
func TestUploadCalls(t *testing.T) {
	type seen struct {
		method, path, contentType string
		length                    int64
		body                      string
	}
	var got []seen
	c := fakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.ContentLength, string(b)})
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/uploads":
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(api.Upload{ID: "u1", Missing: []string{"aa"}, Contents: 2})
		case r.Method == "PUT" && strings.HasSuffix(r.URL.Path, "/contents/bad"):
			w.WriteHeader(422)
			json.NewEncoder(w).Encode(api.Error{Error: "the bytes sent as content bad have the sha256 cc: refused"})
		case r.Method == "PUT":
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(api.UploadedContent{SHA256: "aa", Size: 5})
		case r.URL.Path == "/api/uploads/u1/deploy":
			w.WriteHeader(202)
			json.NewEncoder(w).Encode(api.StartedDeployment{ID: "d1"})
		}
	})
	ctx := context.Background()
	up, err := c.CreateUpload(ctx, []api.UploadFile{{Path: "index.html", SHA256: "aa", Size: 5, Mode: api.ModeFile}})
	if err != nil || up.ID != "u1" || len(up.Missing) != 1 {
		t.Fatalf("CreateUpload = %+v, %v", up, err)
	}
	open := func(s string) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(s))), nil }
	}
	if err := c.PutContent(ctx, "u1", "aa", 5, open("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.PutContent(ctx, "u1", "e3b0", 0, open("")); err != nil {
		t.Fatalf("an empty content: %v", err)
	}
	err = c.PutContent(ctx, "u1", "bad", 3, open("abc"))
	if apiclient.StatusCode(err) != 422 || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a refused content: %v", err)
	}
	started, err := c.DeployUpload(ctx, "u1", api.UploadDeployRequest{Project: "blog", Production: true})
	if err != nil || started.ID != "d1" {
		t.Fatalf("DeployUpload = %+v, %v", started, err)
	}
	if len(got) != 5 {
		t.Fatalf("requests %+v", got)
	}
	if got[0].contentType != "application/json" || !strings.Contains(got[0].body, `"files":[{"path":"index.html","sha256":"aa","size":5,"mode":420}]`) {
		t.Errorf("manifest request %+v", got[0])
	}
	if got[1].path != "/api/uploads/u1/contents/aa" || got[1].contentType != "application/octet-stream" || got[1].length != 5 || got[1].body != "hello" {
		t.Errorf("content request %+v", got[1])
	}
	if got[2].length != 0 || got[2].body != "" {
		t.Errorf("empty content request %+v", got[2])
	}
	if got[4].body != `{"project":"blog","production":true}`+"\n" && got[4].body != `{"project":"blog","production":true}` {
		t.Errorf("deploy request %+v", got[4])
	}
}
