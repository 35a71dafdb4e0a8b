package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skydeploy/skydeploy/gateway"
	"github.com/skydeploy/skydeploy/internal/config"
	"github.com/skydeploy/skydeploy/internal/version"
)

func TestConfigShowsTheBuildVersion(t *testing.T) {
	old := version.Version
	version.Version = "v1.2.3-test"
	defer func() { version.Version = old }()
	rec := httptest.NewRecorder()
	gateway.New(gateway.Deps{Config: config.Default()}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/config", nil))
	var body struct{ Version string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Version != "v1.2.3-test" {
		t.Fatalf("/api/config = %d %s", rec.Code, rec.Body)
	}
}

func TestTokenInfoWithoutRequiredAuth(t *testing.T) {
	cfg := config.Default()
	cfg.RequireAuth = false
	rec := httptest.NewRecorder()
	gateway.New(gateway.Deps{Config: cfg}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/token", nil))
	var body struct{ Name, Scope string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Scope != "deploy" {
		t.Fatalf("/api/token = %d %s", rec.Code, rec.Body)
	}
}
