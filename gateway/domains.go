package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/control"
	"github.com/skydeploy/skydeploy/internal/domainname"
	"github.com/skydeploy/skydeploy/internal/domains"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// Custom domains of projects: a claim per domain in object storage (internal/domains), a
// verification workflow per domain in Temporal (internal/control, workflows.VerifyDomain).

// domainRules are the names no project may add: the sites' base domain and the API's host.
func (s *Server) domainRules() domainname.Rules {
	r := domainname.Rules{BaseDomain: s.cfg.BaseDomain}
	for _, u := range []string{s.cfg.PublicAPIURL, s.cfg.DashboardOrigin} {
		if pu, err := url.Parse(u); err == nil && pu.Hostname() != "" {
			r.Reserved = append(r.Reserved, pu.Hostname())
		}
	}
	return r
}

// domainURL is where a verified domain serves its project.
func (s *Server) domainURL(d string) string {
	if s.cfg.ServeTLS == "acme" {
		return "https://" + d + "/"
	}
	host := d
	if s.cfg.SitePort != "" && !(s.cfg.SiteScheme == "http" && s.cfg.SitePort == "80") && !(s.cfg.SiteScheme == "https" && s.cfg.SitePort == "443") {
		host += ":" + s.cfg.SitePort
	}
	return s.cfg.SiteScheme + "://" + host + "/"
}

// domainView is the API's view of a claim.
func (s *Server) domainView(c *domains.Claim) api.Domain {
	wid := workflows.DomainWorkflowID(c.Domain)
	v := api.Domain{
		Domain: c.Domain, Project: c.Project, Status: c.State, Reason: c.Reason, URL: s.domainURL(c.Domain),
		Deadline: c.Deadline, CreatedAt: c.CreatedAt, CheckedAt: c.CheckedAt, VerifiedAt: c.VerifiedAt, WorkflowID: wid,
		TemporalURL: fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimRight(s.cfg.TemporalUIURL, "/"), s.cfg.TemporalNamespace, wid),
		Records:     []api.DNSRecord{},
	}
	for _, r := range domainname.Records(c.Domain, c.Token, domainname.Target{CNAME: s.cfg.DomainCNAMETarget, Addresses: s.cfg.DomainAddresses}) {
		v.Records = append(v.Records, api.DNSRecord{Type: r.Type, Name: r.Name, Value: r.Value, Purpose: r.Purpose})
	}
	return v
}

func (s *Server) listDomains(c *gin.Context) {
	_, p, ok := s.withProject(c)
	if !ok {
		return
	}
	list, err := domains.ListProject(c.Request.Context(), s.store, p.Name)
	if err != nil {
		s.log.Error("list domains", "project", p.Name, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	out := api.DomainList{Domains: make([]api.Domain, 0, len(list))}
	for _, d := range list {
		out.Domains = append(out.Domains, s.domainView(d))
	}
	c.JSON(http.StatusOK, out)
}

// domainInput starts the verification of claim.
func (s *Server) domainInput(cl *domains.Claim) workflows.DomainInput {
	return workflows.DomainInput{Domain: cl.Domain, Project: cl.Project, Token: cl.Token, Deadline: cl.Deadline, FirstInterval: s.cfg.DomainCheckInterval}
}

func (s *Server) addDomain(c *gin.Context) {
	var req api.DomainRequest
	if !bindJSON(c, &req, `{"domain": "www.example.com"}`) {
		return
	}
	_, p, ok := s.withProject(c)
	if !ok {
		return
	}
	d, err := s.domainRules().Check(req.Domain)
	if err != nil {
		apiError(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	ctx := c.Request.Context()
	now := time.Now().UTC()
	cl := &domains.Claim{Domain: d, Project: p.Name, Token: domainname.NewToken(), State: domains.Pending,
		Deadline: now.Add(s.cfg.DomainVerifyTimeout), CreatedAt: now, UpdatedAt: now}
	var taken *domains.TakenError
	switch err := domains.Create(ctx, s.store, cl); {
	case errors.As(err, &taken) && taken.Claim.Project == p.Name:
		apiError(c, http.StatusConflict, d+" is already a domain of "+p.Name)
		return
	case errors.As(err, &taken):
		apiError(c, http.StatusUnprocessableEntity, d+" is already a domain of another project ("+taken.Claim.Project+"): remove it there first")
		return
	case err != nil:
		s.log.Error("add domain", "domain", d, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return
	}
	if _, err := s.control.StartDomainVerification(ctx, s.domainInput(cl)); err != nil {
		s.log.Error("start domain verification", "domain", d, "error", err)
		if rerr := domains.Remove(context.WithoutCancel(ctx), s.store, d); rerr != nil {
			s.log.Error("remove the claim of a domain whose verification did not start", "domain", d, "error", rerr)
		}
		apiError(c, http.StatusServiceUnavailable, "could not start the domain's verification: the workflow service is unavailable, try again")
		return
	}
	s.log.Info("custom domain added", "project", p.Name, "domain", d)
	c.JSON(http.StatusCreated, s.domainView(cl))
}

// withDomain loads the project and its claim on the domain in the path, answering 404 or 503
// itself.
func (s *Server) withDomain(c *gin.Context) (*domains.Claim, bool) {
	_, p, ok := s.withProject(c)
	if !ok {
		return nil, false
	}
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c.Param("domain"))), ".")
	cl, _, err := domains.Get(c.Request.Context(), s.store, d)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && cl.Project != p.Name) {
		apiError(c, http.StatusNotFound, d+" is not a domain of "+p.Name)
		return nil, false
	}
	if err != nil {
		s.log.Error("read domain", "domain", d, "error", err)
		apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
		return nil, false
	}
	return cl, true
}

func (s *Server) getDomain(c *gin.Context) {
	if cl, ok := s.withDomain(c); ok {
		c.JSON(http.StatusOK, s.domainView(cl))
	}
}

func (s *Server) removeDomain(c *gin.Context) {
	cl, ok := s.withDomain(c)
	if !ok {
		return
	}
	if err := s.removeClaim(c.Request.Context(), cl.Domain); err != nil {
		apiError(c, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.log.Info("custom domain removed", "project", cl.Project, "domain", cl.Domain)
	c.Status(http.StatusNoContent)
}

// removeClaim stops a domain's verification, then deletes its claim and routing pointer.
func (s *Server) removeClaim(ctx context.Context, d string) error {
	if err := s.control.StopDomainVerification(ctx, d); err != nil {
		s.log.Error("stop domain verification", "domain", d, "error", err)
		return errors.New("could not stop the domain's verification: the workflow service is unavailable, try again")
	}
	if err := domains.Remove(ctx, s.store, d); err != nil {
		s.log.Error("remove domain", "domain", d, "error", err)
		return errors.New("object storage is unavailable, try again")
	}
	return nil
}

// removeProjectDomains removes every domain of a project being deleted.
func (s *Server) removeProjectDomains(ctx context.Context, project string) error {
	list, err := domains.ListProject(ctx, s.store, project)
	if err != nil {
		return errors.New("object storage is unavailable, try again")
	}
	for _, cl := range list {
		if err := s.removeClaim(ctx, cl.Domain); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) verifyDomain(c *gin.Context) {
	cl, ok := s.withDomain(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if cl.State == domains.Failed {
		now := time.Now().UTC()
		reset, err := domains.Reset(ctx, s.store, cl.Domain, cl.Token, now.Add(s.cfg.DomainVerifyTimeout), now)
		if err != nil {
			apiError(c, http.StatusServiceUnavailable, "object storage is unavailable, try again")
			return
		}
		cl = reset
	}
	if cl.State == domains.Pending {
		err := s.control.VerifyDomainNow(ctx, cl.Domain)
		if errors.Is(err, control.ErrNoVerification) {
			_, err = s.control.StartDomainVerification(ctx, s.domainInput(cl))
		}
		if err != nil {
			s.log.Error("verify domain", "domain", cl.Domain, "error", err)
			apiError(c, http.StatusServiceUnavailable, "could not reach the domain's verification: the workflow service is unavailable, try again")
			return
		}
	}
	c.JSON(http.StatusAccepted, s.domainView(cl))
}
