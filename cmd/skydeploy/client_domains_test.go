package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
)

func TestDomainsCommands(t *testing.T) {
	pending := api.Domain{Domain: "www.shop.com", Project: "shop", Status: api.DomainPending, URL: "https://www.shop.com/",
		Deadline: time.Now().Add(72 * time.Hour), Reason: "no TXT record at _skydeploy-challenge.www.shop.com",
		Records: []api.DNSRecord{
			{Type: "TXT", Name: "_skydeploy-challenge.www.shop.com", Value: "0123456789abcdef0123456789abcdef", Purpose: "verify"},
			{Type: "CNAME", Name: "www.shop.com", Value: "custom.sites.example.com", Purpose: "route"},
		}}
	verified := pending
	verified.Status, verified.Reason = api.DomainVerified, ""
	g := startGateway(t, map[string]func(http.ResponseWriter, map[string]any){
		"POST /api/projects/shop/domains":                     reply(201, pending),
		"GET /api/projects/shop/domains":                      reply(200, api.DomainList{Domains: []api.Domain{pending}}),
		"POST /api/projects/shop/domains/www.shop.com/verify": reply(202, pending),
		"GET /api/projects/shop/domains/www.shop.com":         reply(200, verified),
		"DELETE /api/projects/shop/domains/www.shop.com":      reply(204, nil),
		"POST /api/projects/other/domains":                    reply(422, api.Error{Error: "www.shop.com is already a domain of another project (shop): remove it there first"}),
	})
	ctx := context.Background()

	out, _, err := output(t, func() error { return runDomains(ctx, []string{"add", "shop", "www.shop.com"}) })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Added www.shop.com to shop: pending", "TXT", "_skydeploy-challenge.www.shop.com", "0123456789abcdef0123456789abcdef",
		"CNAME", "custom.sites.example.com", "skydeploy domains verify shop www.shop.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("add printed:\n%s\nwithout %q", out, want)
		}
	}
	if reqs := g.requests(); reqs[0].body["domain"] != "www.shop.com" {
		t.Errorf("add sent %+v", reqs[0])
	}

	out, _, err = output(t, func() error { return runDomains(ctx, []string{"ls", "shop"}) })
	if err != nil || !strings.Contains(out, "www.shop.com") || !strings.Contains(out, "pending") || !strings.Contains(out, "last check: no TXT record") {
		t.Errorf("ls printed %q, %v", out, err)
	}

	// verify --wait follows the domain until it is verified.
	out, _, err = output(t, func() error { return runDomains(ctx, []string{"verify", "shop", "www.shop.com", "--wait", "10s"}) })
	if err != nil || !strings.Contains(out, "www.shop.com is verified: https://www.shop.com/ serves shop") {
		t.Errorf("verify --wait printed %q, %v", out, err)
	}

	out, _, err = output(t, func() error { return runDomains(ctx, []string{"rm", "shop", "www.shop.com"}) })
	if err != nil || !strings.Contains(out, "Removed www.shop.com from shop") {
		t.Errorf("rm printed %q, %v", out, err)
	}

	// The gateway's reason reaches the user; bad arguments are usage errors.
	_, _, err = output(t, func() error { return runDomains(ctx, []string{"add", "other", "www.shop.com"}) })
	if err == nil || !strings.Contains(err.Error(), "another project (shop)") {
		t.Errorf("add to another project: %v", err)
	}
	_, stderr, err := output(t, func() error { return runDomains(ctx, []string{"add", "shop"}) })
	if exitCode(err) != 2 || !strings.Contains(stderr, "usage: skydeploy domains add") {
		t.Errorf("add without a domain: exit %d, %q", exitCode(err), stderr)
	}
	_, stderr, err = output(t, func() error { return runDomains(ctx, []string{"frobnicate"}) })
	if exitCode(err) != 2 || !strings.Contains(stderr, "unknown domains command") {
		t.Errorf("unknown command: exit %d, %q", exitCode(err), stderr)
	}
}
