package api

import "time"

// Custom domain states.
const (
	// DomainPending: waiting for the TXT record; the verification workflow checks DNS with
	// backoff until its deadline.
	DomainPending = "pending"
	// DomainVerified: the domain routes to the project, and gets a certificate on its first
	// HTTPS request.
	DomainVerified = "verified"
	// DomainFailed: not verified by the deadline; Reason says what DNS answered. Verify
	// starts again.
	DomainFailed = "failed"
)

// Domain is a custom domain of a project.
type Domain struct {
	Domain  string `json:"domain"`
	Project string `json:"project"`
	Status  string `json:"status"`
	// Reason is why verification failed, or what the last DNS check saw while pending.
	Reason string `json:"reason,omitempty"`
	// Records are what to put in DNS: the TXT record that proves ownership, and how to route
	// the name to the platform.
	Records     []DNSRecord `json:"records"`
	URL         string      `json:"url"`
	Deadline    time.Time   `json:"deadline"`
	CreatedAt   time.Time   `json:"createdAt"`
	CheckedAt   *time.Time  `json:"checkedAt,omitempty"`
	VerifiedAt  *time.Time  `json:"verifiedAt,omitempty"`
	WorkflowID  string      `json:"workflowId"`
	TemporalURL string      `json:"temporalUrl"`
}

// DNSRecord is one record a user creates at their DNS provider.
type DNSRecord struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	// Purpose is verify (the TXT record) or route (A, AAAA or CNAME).
	Purpose string `json:"purpose"`
}

// DomainList answers GET /api/projects/:name/domains.
type DomainList struct {
	Domains []Domain `json:"domains"`
}

// DomainRequest is the body of POST /api/projects/:name/domains.
type DomainRequest struct {
	Domain string `json:"domain"`
}
