package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/domainname"
	"github.com/skydeploy/skydeploy/internal/domains"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// TXTResolver looks up TXT records; *net.Resolver is one, and tests give their own DNS server
// (SKYDEPLOY_DOMAIN_DNS_SERVER) or a fake.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// DomainActivities verify custom domains: check the TXT record, then activate or fail the
// project's claim (internal/domains).
type DomainActivities struct {
	Store    *storage.Store
	Resolver TXTResolver
	Log      *slog.Logger
}

// NewResolver returns the resolver of domain checks: the system's, or one that asks only the
// DNS server at addr (host:port) when addr is set.
func NewResolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// CheckDomainDNS looks for the claim's token in the domain's TXT record and notes what it saw
// in the claim (the API shows it while the domain is pending).
func (d *DomainActivities) CheckDomainDNS(ctx context.Context, in workflows.DomainCheckInput) (workflows.DomainCheck, error) {
	name := domainname.ChallengeName(in.Domain)
	values, err := d.Resolver.LookupTXT(ctx, name)
	var res workflows.DomainCheck
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		for _, v := range values {
			if strings.TrimSpace(v) == in.Token {
				res.Found = true
			}
		}
		if res.Found {
			res.Seen = "TXT record " + name + " holds the token"
		} else if len(values) == 0 {
			res.Seen = "no TXT record at " + name
		} else {
			res.Seen = fmt.Sprintf("TXT record %s holds %q, not the token", name, strings.Join(values, `", "`))
		}
	case errors.As(err, &dnsErr) && (dnsErr.IsNotFound || !dnsErr.IsTimeout && !dnsErr.IsTemporary):
		// NXDOMAIN, or an answer without records (some servers send no SOA with it, which Go
		// calls a lame referral): the record is not there yet.
		res.Seen = "no TXT record at " + name
	default:
		res.Seen = "DNS look-up of " + name + " failed: " + err.Error()
	}
	if res.Found {
		return res, nil
	}
	err = domains.RecordCheck(ctx, d.Store, in.Domain, in.Token, res.Seen, time.Now().UTC())
	if errors.Is(err, domains.ErrGone) {
		res.Gone = true
		return res, nil
	}
	if err != nil {
		return res, transient("StorageUnavailable", err, "record the check of %s", in.Domain)
	}
	return res, nil
}

// ActivateDomain marks the claim verified and writes the routing pointer (domains.Activate).
func (d *DomainActivities) ActivateDomain(ctx context.Context, in workflows.DomainCheckInput) error {
	err := domains.Activate(ctx, d.Store, in.Domain, in.Token, time.Now().UTC())
	if errors.Is(err, domains.ErrGone) {
		return permanent(workflows.ErrDomainRemoved, "%s was removed from its project while it was verified", in.Domain)
	}
	if err != nil {
		return transient("StorageUnavailable", err, "activate %s", in.Domain)
	}
	d.logger().Info("custom domain verified", "domain", in.Domain)
	return nil
}

// FailDomain marks the pending claim failed with the reason.
func (d *DomainActivities) FailDomain(ctx context.Context, in workflows.DomainFailInput) error {
	err := domains.Fail(ctx, d.Store, in.Domain, in.Token, in.Reason, time.Now().UTC())
	if err != nil && !errors.Is(err, domains.ErrGone) {
		return transient("StorageUnavailable", err, "fail %s", in.Domain)
	}
	return nil
}

func (d *DomainActivities) logger() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}
