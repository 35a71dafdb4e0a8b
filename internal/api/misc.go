package api

// Config is the gateway's public configuration (GET /api/config).
type Config struct {
	BaseDomain        string `json:"baseDomain"`
	TemporalUIURL     string `json:"temporalUIURL"`
	TemporalNamespace string `json:"temporalNamespace"`
	AuthRequired      bool   `json:"authRequired"`
	Version           string `json:"version"`
	// Uploads are the limits on a folder deployed from the command line.
	Uploads UploadLimits `json:"uploads"`
}

// TokenInfo says who the caller's token is (GET /api/token): the dashboard shows the actions a
// read token may not take only to deploy tokens.
type TokenInfo struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}

// Health answers GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// WebhookAck answers a GitHub ping (with its Zen) or an event that is not handled (Ignored).
type WebhookAck struct {
	OK      bool   `json:"ok"`
	Zen     string `json:"zen,omitempty"`
	Ignored string `json:"ignored,omitempty"`
}

// WebhookDeployments answers a GitHub push: the deployments it started (possibly none), and
// why it was ignored when it was.
type WebhookDeployments struct {
	Started []StartedDeployment `json:"started"`
	Ignored string              `json:"ignored,omitempty"`
}
