package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/deploy"
	"github.com/skydeploy/skydeploy/internal/config"
)

// TestThroughNginx runs Debian's nginx with deploy/nginx.conf (ports substituted) in front of the
// local stack, deploys a repository through it and fetches the site through it over TLS.
func TestThroughNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, func(c *config.Config) {
		c.BaseDomain = "sites.test"
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	ngx := deploy.StartNginxServer(t, deploy.NginxOptions{
		APIHost: "deploy.test", SitesDomain: "sites.test",
		GatewayAddr: strings.TrimPrefix(e.api.URL, "http://"), ServeAddr: e.sites,
	})
	client := ngx.Client()
	api := fmt.Sprintf("https://deploy.test:%d", ngx.HTTPSPort)
	call := func(method, path string, body any, out any) int {
		var r io.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			r = bytes.NewReader(data)
		}
		req, _ := http.NewRequest(method, api+path, r)
		req.Header.Set("Authorization", "Bearer "+e.cfg.APIToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s through nginx: %v", method, path, err)
		}
		defer res.Body.Close()
		if out != nil {
			_ = json.NewDecoder(res.Body).Decode(out)
		}
		return res.StatusCode
	}

	repo := e.git.NewRepo(t, "through-nginx", map[string]string{"index.html": "<h1>served through nginx</h1>", "app.js": "console.log(1)"})
	var started struct{ ID, URL string }
	if code := call("POST", "/api/deployments", map[string]any{"repoUrl": repo.URL}, &started); code != http.StatusAccepted {
		t.Fatalf("POST through nginx = %d", code)
	}
	if !strings.Contains(started.URL, started.ID+".sites.test") {
		t.Errorf("deployment URL %q is not under the sites domain", started.URL)
	}
	deadline := time.Now().Add(time.Minute)
	var d struct{ Status, Error string }
	for time.Now().Before(deadline) {
		if call("GET", "/api/deployments/"+started.ID, nil, &d); d.Status == "succeeded" || d.Status == "failed" {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if d.Status != "succeeded" {
		t.Fatalf("deployment through nginx: %s: %s", d.Status, d.Error)
	}
	for path, want := range map[string]string{"/": "<h1>served through nginx</h1>", "/app.js": "console.log(1)"} {
		res, err := client.Get(fmt.Sprintf("https://%s.sites.test:%d%s", started.ID, ngx.HTTPSPort, path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != want {
			t.Errorf("GET %s through nginx = %d %q", path, res.StatusCode, body)
		}
		if res.ProtoMajor != 2 {
			t.Errorf("GET %s through nginx used %s, want HTTP/2", path, res.Proto)
		}
	}
	// Plain HTTP is redirected to HTTPS.
	res, err := client.Get(fmt.Sprintf("http://%s.sites.test:%d/", started.ID, ngx.HTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(res.Header.Get("Location"), "https://") {
		t.Errorf("plain HTTP = %d to %q, want a redirect to https", res.StatusCode, res.Header.Get("Location"))
	}
}
