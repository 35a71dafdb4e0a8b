// Package domains keeps custom domains in object storage: a project's claim on a domain
// (domain-claims/<host>.json: state, verification token, reason, times) and, once the domain
// is verified, the routing pointer the request handler reads (domains/<host>.json, a
// manifest.Domain). A pending or failed claim is never a pointer, so only verified domains are
// served. The gateway creates and removes claims; the verification workflow's activities
// record checks and activate or fail them.
//
// One claim per host is what makes a domain belong to at most one project: Create writes it
// with If-None-Match, so of two projects adding one domain at once exactly one wins. Updates
// are If-Match writes of the version read, so a claim removed (or removed and added again
// with a new token) while a check ran is never brought back.
//
// It must never import Temporal, Redis, gin or any role package: it is object storage only.
package domains

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Claim states.
const (
	Pending  = "pending"
	Verified = "verified"
	Failed   = "failed"
)

// Claim is a project's claim on a custom domain.
type Claim struct {
	Domain  string `json:"domain"`
	Project string `json:"project"`
	// Token is what the TXT record _skydeploy-challenge.<domain> must hold.
	Token  string `json:"token"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Deadline is when verification gives up (the claim fails).
	Deadline   time.Time  `json:"deadline"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	CheckedAt  *time.Time `json:"checkedAt,omitempty"`
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
}

// maxBytes bounds a claim or pointer read.
const maxBytes = 64 << 10

// ErrGone says the claim a verification was working on was removed or replaced (a new
// token): its result must not be recorded.
var ErrGone = errors.New("the domain was removed from its project, or added again")

// TakenError says a domain is claimed already.
type TakenError struct{ Claim *Claim }

func (e *TakenError) Error() string {
	return fmt.Sprintf("%s is already added to project %s (%s)", e.Claim.Domain, e.Claim.Project, e.Claim.State)
}

// Get returns the claim on host and its version (ETag); storage.ErrNotFound when none.
func Get(ctx context.Context, s *storage.Store, host string) (*Claim, string, error) {
	data, etag, err := s.GetWithETag(ctx, storage.DomainClaimKey(host), maxBytes)
	if err != nil {
		return nil, "", err
	}
	var c Claim
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, "", fmt.Errorf("claim of %s: %w", host, err)
	}
	return &c, etag, nil
}

// Create writes a new claim; a domain claimed already (by any project) is a *TakenError.
func Create(ctx context.Context, s *storage.Store, c *Claim) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.PutIfAbsent(ctx, storage.DomainClaimKey(c.Domain), data, storage.PutOptions{ContentType: "application/json"})
	if errors.Is(err, storage.ErrPrecondition) {
		cur, _, gerr := Get(ctx, s, c.Domain)
		if gerr != nil {
			return fmt.Errorf("%s is claimed already, and the claim cannot be read: %w", c.Domain, gerr)
		}
		return &TakenError{Claim: cur}
	}
	return err
}

// List returns every claim, by domain.
func List(ctx context.Context, s *storage.Store) ([]*Claim, error) {
	objs, err := s.List(ctx, storage.ClaimsPrefix)
	if err != nil {
		return nil, err
	}
	var out []*Claim
	for _, o := range objs {
		host := strings.TrimSuffix(strings.TrimPrefix(o.Key, storage.ClaimsPrefix), ".json")
		c, _, err := Get(ctx, s, host)
		if errors.Is(err, storage.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out, nil
}

// ListProject returns the claims of project.
func ListProject(ctx context.Context, s *storage.Store, project string) ([]*Claim, error) {
	all, err := List(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []*Claim
	for _, c := range all {
		if c.Project == project {
			out = append(out, c)
		}
	}
	return out, nil
}

// current reads the claim on host and checks it is still the one with token.
func current(ctx context.Context, s *storage.Store, host, token string) (*Claim, string, error) {
	c, etag, err := Get(ctx, s, host)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.Token != token) {
		return nil, "", ErrGone
	}
	return c, etag, err
}

func update(ctx context.Context, s *storage.Store, c *Claim, etag string) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.PutIfMatch(ctx, storage.DomainClaimKey(c.Domain), data, etag, storage.PutOptions{ContentType: "application/json"})
	if errors.Is(err, storage.ErrPrecondition) {
		return ErrGone
	}
	return err
}

// Reset puts a claim back to pending with a new deadline (a manual verify after it failed).
func Reset(ctx context.Context, s *storage.Store, host, token string, deadline, now time.Time) (*Claim, error) {
	c, etag, err := current(ctx, s, host, token)
	if err != nil {
		return nil, err
	}
	if c.State == Verified {
		return c, nil
	}
	c.State, c.Reason, c.Deadline, c.UpdatedAt = Pending, "", deadline, now
	return c, update(ctx, s, c, etag)
}

// RecordCheck notes a check that did not verify the pending claim (reason says what was seen).
func RecordCheck(ctx context.Context, s *storage.Store, host, token, reason string, now time.Time) error {
	c, etag, err := current(ctx, s, host, token)
	if err != nil {
		return err
	}
	if c.State != Pending {
		return nil
	}
	c.Reason, c.CheckedAt, c.UpdatedAt = reason, &now, now
	return update(ctx, s, c, etag)
}

// Fail marks the pending claim failed with reason; its domain stays unserved.
func Fail(ctx context.Context, s *storage.Store, host, token, reason string, now time.Time) error {
	c, etag, err := current(ctx, s, host, token)
	if err != nil {
		return err
	}
	if c.State != Pending {
		return nil
	}
	c.State, c.Reason, c.UpdatedAt = Failed, reason, now
	return update(ctx, s, c, etag)
}

// Activate marks the claim verified and writes the routing pointer that makes the request
// handler serve the domain. The pointer is written after the claim, then the claim is read
// again: a removal that raced with it (Remove deletes the claim before the pointer) either
// made the claim update fail, or is seen on the second read (and the pointer deleted here), or
// came after it (and its own pointer delete comes later still). So a removed domain is never
// left routed.
func Activate(ctx context.Context, s *storage.Store, host, token string, now time.Time) error {
	c, etag, err := current(ctx, s, host, token)
	if err != nil {
		return err
	}
	if c.State != Verified {
		c.State, c.Reason, c.CheckedAt, c.VerifiedAt, c.UpdatedAt = Verified, "", &now, &now, now
		if err := update(ctx, s, c, etag); err != nil {
			return err
		}
	}
	data, err := json.Marshal(manifest.Domain{Domain: c.Domain, Project: c.Project})
	if err != nil {
		return err
	}
	if err := s.Put(ctx, storage.DomainKey(host), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	if _, _, err := current(ctx, s, host, token); err != nil {
		if errors.Is(err, ErrGone) {
			if derr := s.Delete(ctx, storage.DomainKey(host)); derr != nil {
				return derr
			}
		}
		return err
	}
	return nil
}

// Remove deletes the claim on host, then its routing pointer (in this order: see Activate).
// The request handler stops serving the domain when its cached pointer expires (the alias TTL).
func Remove(ctx context.Context, s *storage.Store, host string) error {
	if err := s.Delete(ctx, storage.DomainClaimKey(host)); err != nil {
		return err
	}
	return s.Delete(ctx, storage.DomainKey(host))
}
