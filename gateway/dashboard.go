package gateway

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

const placeholderPage = `<!doctype html><html><head><meta charset="utf-8"><title>SkyDeploy</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto">
<h1>SkyDeploy</h1><p>The API is running at <code>/api</code>. The dashboard has not been built into this binary:
run <code>make web</code> (or <code>make build</code>) and restart.</p></body></html>`

// dashboardHandler serves the built dashboard with a fallback to index.html for client routes.
func (s *Server) dashboardHandler() gin.HandlerFunc {
	var files http.Handler
	hasIndex := false
	if s.dashboard != nil {
		if _, err := fs.Stat(s.dashboard, "index.html"); err == nil {
			hasIndex = true
			files = http.FileServer(http.FS(s.dashboard))
		}
	}
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/api" {
			apiError(c, http.StatusNotFound, "no such API endpoint: "+c.Request.Method+" "+p)
			return
		}
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			apiError(c, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		if !hasIndex {
			c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(placeholderPage))
			return
		}
		name := strings.TrimPrefix(path.Clean(p), "/")
		if name != "" {
			if st, err := fs.Stat(s.dashboard, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					c.Header("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(c.Writer, c.Request)
				return
			}
		}
		index, err := fs.ReadFile(s.dashboard, "index.html")
		if err != nil {
			c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(placeholderPage))
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	}
}
