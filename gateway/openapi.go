package gateway

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3.0 description of every route of the gateway (openapi.yaml),
// served at GET /api/openapi.yaml. openapi_test.go fails when a route and the description
// disagree.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", OpenAPI)
}

// Routes lists the gateway's routes (method and gin path, e.g. /api/deployments/:id).
func (s *Server) Routes() []gin.RouteInfo { return s.engine.Routes() }
