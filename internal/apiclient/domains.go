package apiclient

import (
	"context"

	"github.com/skydeploy/skydeploy/internal/api"
)

// ListDomains returns a project's custom domains.
func (c *Client) ListDomains(ctx context.Context, project string) ([]api.Domain, error) {
	var out api.DomainList
	err := c.do(ctx, "GET", "/api/projects/"+esc(project)+"/domains", nil, &out)
	return out.Domains, err
}

// AddDomain adds a custom domain to a project; it starts pending, with the DNS records to create.
func (c *Client) AddDomain(ctx context.Context, project, domain string) (api.Domain, error) {
	var out api.Domain
	err := c.do(ctx, "POST", "/api/projects/"+esc(project)+"/domains", api.DomainRequest{Domain: domain}, &out)
	return out, err
}

// GetDomain returns one custom domain of a project.
func (c *Client) GetDomain(ctx context.Context, project, domain string) (api.Domain, error) {
	var out api.Domain
	err := c.do(ctx, "GET", "/api/projects/"+esc(project)+"/domains/"+esc(domain), nil, &out)
	return out, err
}

// VerifyDomain asks for a DNS check of the domain now (a failed domain starts again).
func (c *Client) VerifyDomain(ctx context.Context, project, domain string) (api.Domain, error) {
	var out api.Domain
	err := c.do(ctx, "POST", "/api/projects/"+esc(project)+"/domains/"+esc(domain)+"/verify", nil, &out)
	return out, err
}

// RemoveDomain removes a custom domain from its project; it stops being served.
func (c *Client) RemoveDomain(ctx context.Context, project, domain string) error {
	return c.do(ctx, "DELETE", "/api/projects/"+esc(project)+"/domains/"+esc(domain), nil, nil)
}
