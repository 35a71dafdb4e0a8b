package gateway

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/skydeploy/skydeploy/internal/auth"
)

// maxBodyBytes bounds every API request body but uploads' (bodyLimit).
const maxBodyBytes = 1 << 20

// publicAPIPaths need no token: the dashboard reads the config to know whether to ask for one;
// webhooks carry their own signature.
func publicAPIPath(p string) bool {
	return p == "/api/config" || p == "/api/openapi.yaml" || strings.HasPrefix(p, "/api/webhooks/")
}

// security adds CORS (the dashboard's origin only), the body size limit and, when the gateway
// requires tokens, authentication and scope checks.
func (s *Server) security() gin.HandlerFunc {
	return func(c *gin.Context) {
		if origin := c.GetHeader("Origin"); origin != "" && origin == s.cfg.DashboardOrigin {
			h := c.Writer.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		if c.Request.Method == http.MethodOptions {
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.bodyLimit(c))
		}
		if !s.authRequired() || publicAPIPath(c.Request.URL.Path) {
			c.Next()
			return
		}
		token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="skydeploy"`)
			apiError(c, http.StatusUnauthorized, "an API token is required: send Authorization: Bearer <token> (create one with `skydeploy token create`)")
			return
		}
		tok, err := s.tokens.Check(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			if err == auth.ErrInvalid {
				c.Header("WWW-Authenticate", `Bearer realm="skydeploy", error="invalid_token"`)
				apiError(c, http.StatusUnauthorized, "the API token is not valid")
				return
			}
			s.log.Error("check token", "error", err)
			apiError(c, http.StatusServiceUnavailable, "could not check the API token, try again")
			return
		}
		need := auth.ScopeDeploy
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			need = auth.ScopeRead
		}
		if !auth.Allows(tok.Scope, need) {
			apiError(c, http.StatusForbidden, "this token has the "+tok.Scope+" scope; this request needs a "+need+" token")
			return
		}
		c.Set("token", tok)
		c.Next()
	}
}

// deployLimiter limits how fast one client may start deployments.
type deployLimiter struct {
	perMinute int
	mu        sync.Mutex
	clients   map[string]*clientLimit
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newDeployLimiter(perMinute int) *deployLimiter {
	return &deployLimiter{perMinute: perMinute, clients: map[string]*clientLimit{}}
}

func (l *deployLimiter) allow(client string) bool {
	if l.perMinute <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.clients) > 10_000 {
		for k, v := range l.clients {
			if now.Sub(v.seen) > 10*time.Minute {
				delete(l.clients, k)
			}
		}
	}
	cl, ok := l.clients[client]
	if !ok {
		burst := l.perMinute / 3
		if burst < 1 {
			burst = 1
		}
		cl = &clientLimit{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), burst)}
		l.clients[client] = cl
	}
	cl.seen = now
	return cl.lim.Allow()
}

// rateLimitDeploys answers 429 when a client starts deployments faster than allowed.
func (s *Server) rateLimitDeploys() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.limiter.allow(c.ClientIP()) {
			c.Header("Retry-After", "10")
			apiError(c, http.StatusTooManyRequests, "too many deployments started from this client; wait a little and try again")
			return
		}
		c.Next()
	}
}

// authRequired reports whether API calls need a token.
func (s *Server) authRequired() bool { return s.cfg.RequireAuth || s.cfg.APIToken != "" }
