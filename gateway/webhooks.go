package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/internal/repourl"
)

// maxWebhookBytes bounds a webhook body; GitHub caps payloads at 25 MB but push payloads of
// interest are small, and the signature must be checked over the whole body.
const maxWebhookBytes = 1 << 20

// pushEvent is the part of GitHub's push payload SkyDeploy reads.
type pushEvent struct {
	Ref     string `json:"ref"`
	After   string `json:"after"`
	Deleted bool   `json:"deleted"`
	Repo    struct {
		CloneURL string `json:"clone_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

// VerifySignature reports whether header (X-Hub-Signature-256: "sha256=<hex>") is the
// HMAC-SHA256 of body under secret. The comparison takes constant time.
func VerifySignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// githubWebhook deploys pushes: to a watched project's production branch as the poller would
// (same derived deployment id, so a push seen by both deploys once), and to other branches as
// previews when the project asks for them. Nothing is read or started before the signature
// checks out.
func (s *Server) githubWebhook(c *gin.Context) {
	if s.cfg.WebhookSecret == "" {
		apiError(c, http.StatusServiceUnavailable, "webhooks are not configured: set SKYDEPLOY_WEBHOOK_SECRET and use it as the webhook's secret")
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxWebhookBytes+1))
	var tooLarge *http.MaxBytesError
	if err != nil && !errors.As(err, &tooLarge) {
		apiError(c, http.StatusBadRequest, "could not read the request body")
		return
	}
	if tooLarge != nil || len(body) > maxWebhookBytes {
		apiError(c, http.StatusRequestEntityTooLarge, "webhook payload is larger than 1 MiB")
		return
	}
	if !VerifySignature(s.cfg.WebhookSecret, body, c.GetHeader("X-Hub-Signature-256")) {
		apiError(c, http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256")
		return
	}
	event := c.GetHeader("X-GitHub-Event")
	switch event {
	case "ping":
		var ping struct {
			Zen string `json:"zen"`
		}
		_ = json.Unmarshal(body, &ping)
		c.JSON(http.StatusOK, api.WebhookAck{OK: true, Zen: ping.Zen})
		return
	case "push":
	default:
		c.JSON(http.StatusOK, api.WebhookAck{OK: true, Ignored: "event " + event + " is not handled"})
		return
	}
	var push pushEvent
	if err := json.Unmarshal(body, &push); err != nil {
		apiError(c, http.StatusBadRequest, "push payload is not valid JSON")
		return
	}
	branch, isBranch := strings.CutPrefix(push.Ref, "refs/heads/")
	if !isBranch || push.Deleted || strings.Trim(push.After, "0") == "" || len(push.After) != 40 {
		c.JSON(http.StatusAccepted, api.WebhookDeployments{Started: []api.StartedDeployment{}, Ignored: "not a push of a branch head"})
		return
	}
	if repourl.ValidateBranch(branch) != nil {
		apiError(c, http.StatusBadRequest, "push names an invalid branch")
		return
	}
	sha := strings.ToLower(push.After)
	ctx := c.Request.Context()
	ps, err := s.projectStore()
	if err != nil {
		apiError(c, http.StatusInternalServerError, err.Error())
		return
	}
	list, err := ps.List(ctx)
	if err != nil {
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable; GitHub will show the failed delivery for redelivery")
		return
	}
	started := []api.StartedDeployment{}
	for _, p := range list {
		pushed := repourl.SameRepository(p.RepoURL, push.Repo.CloneURL) || repourl.SameRepository(p.RepoURL, push.Repo.HTMLURL)
		if !pushed || !p.AutoDeploy() {
			continue
		}
		production := branch == p.Branch()
		if !production && !p.Watch.Previews {
			continue
		}
		in := s.control.DeployInput(p, projects.DeployTarget{Branch: branch, Commit: sha, Production: production, Trigger: "webhook"})
		st, err := s.control.Start(ctx, in)
		if err != nil {
			s.log.Error("start webhook deployment", "project", p.Name, "error", err)
			apiError(c, http.StatusServiceUnavailable, "could not start the deployment: the workflow service is unavailable; redeliver the webhook")
			return
		}
		started = append(started, st)
	}
	c.JSON(http.StatusAccepted, api.WebhookDeployments{Started: started})
}
