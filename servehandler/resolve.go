package servehandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/hostroute"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Size limits of the small documents read from storage.
const (
	maxManifestBytes = 64 << 20
	maxPointerBytes  = 64 << 10
	maxRulesBytes    = 1 << 20
)

// pointer is a cached alias (label -> deployment id) or custom domain (host -> project).
// value "" means the pointer does not exist. Entries are replaced, never modified.
type pointer struct {
	value   string
	expires time.Time
}

// missing remembers, for AliasTTL, that a deployment has no manifest (yet).
type missing struct{ expires time.Time }

// siteFor resolves a parsed host to its site. An alias is resolved once per request, so a
// request never mixes two deployments.
func (h *Handler) siteFor(ctx context.Context, rt hostroute.Route) (*site, error) {
	switch rt.Kind {
	case hostroute.Deployment:
		return h.site(ctx, rt.Name)
	case hostroute.Alias:
		id, err := h.pointer(ctx, kindAlias, rt.Name)
		if err != nil {
			return nil, err
		}
		return h.site(ctx, id)
	case hostroute.Custom:
		project, err := h.pointer(ctx, kindDomain, rt.Name)
		if err != nil {
			return nil, err
		}
		id, err := h.pointer(ctx, kindAlias, project)
		if err != nil {
			return nil, err
		}
		return h.site(ctx, id)
	}
	return nil, errNoSite
}

// pointer returns the value of an alias or domain pointer, read again from storage once it
// is older than AliasTTL. When storage fails, the last known value keeps being used
// (stale-if-error) and is retried after another AliasTTL.
func (h *Handler) pointer(ctx context.Context, kind uint8, name string) (string, error) {
	k := cacheKey{kind, name}
	var old *pointer
	if v, ok := h.cache.get(k); ok {
		old = v.(*pointer)
		if time.Now().Before(old.expires) {
			if old.value == "" {
				return "", errNoSite
			}
			return old.value, nil
		}
	}
	v, err, _ := h.flight.Do(flightKey(kind, name), func() (any, error) {
		return h.fetchPointer(ctx, kind, name)
	})
	now := time.Now()
	if err != nil {
		if old == nil {
			return "", err
		}
		h.m.stale.Inc()
		h.log.Warn("serve: storage failed, using the last known pointer", "name", name, "value", old.value, "err", err)
		h.cache.add(k, &pointer{value: old.value, expires: now.Add(h.opts.AliasTTL)}, int64(len(name)+len(old.value)))
		if old.value == "" {
			return "", errNoSite
		}
		return old.value, nil
	}
	p := v.(*pointer)
	if p.value == "" {
		return "", errNoSite
	}
	return p.value, nil
}

func flightKey(kind uint8, name string) string { return string(rune('0'+kind)) + ":" + name }

// fetchPointer reads a pointer and caches it (also when absent).
func (h *Handler) fetchPointer(ctx context.Context, kind uint8, name string) (*pointer, error) {
	ctx, cancel := h.fetchContext(ctx)
	defer cancel()
	var key string
	if kind == kindAlias {
		key = storage.AliasKey(name)
	} else {
		key = storage.DomainKey(name)
	}
	h.m.storageReads.Inc()
	data, err := h.store.GetBytes(ctx, key, maxPointerBytes)
	p := &pointer{expires: time.Now().Add(h.opts.AliasTTL)}
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		h.m.storageErrors.Inc()
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	case kind == kindAlias:
		a, perr := manifest.ParseAlias(data)
		if perr != nil || !ids.IsDeployment(a.DeploymentID) {
			h.log.Error("serve: bad alias pointer", "key", key, "err", perr)
		} else {
			p.value = a.DeploymentID
		}
	default:
		var d manifest.Domain
		if perr := json.Unmarshal(data, &d); perr != nil || ids.ValidateProject(strings.ToLower(d.Project)) != nil {
			h.log.Error("serve: bad domain mapping", "key", key, "err", perr)
		} else {
			p.value = strings.ToLower(d.Project)
		}
	}
	h.cache.add(cacheKey{kind, name}, p, int64(len(name)+len(p.value)))
	return p, nil
}

// site returns the loaded deployment id. Loaded sites are immutable and stay cached until
// evicted; a missing deployment is remembered for AliasTTL (it goes live when its manifest
// is written).
func (h *Handler) site(ctx context.Context, id string) (*site, error) {
	k := cacheKey{kindSite, id}
	if v, ok := h.cache.get(k); ok {
		switch v := v.(type) {
		case *site:
			return v, nil
		case *missing:
			if time.Now().Before(v.expires) {
				return nil, errNoSite
			}
		}
	}
	v, err, _ := h.flight.Do(flightKey(kindSite, id), func() (any, error) {
		if v, ok := h.cache.get(k); ok {
			if s, ok := v.(*site); ok {
				return s, nil
			}
		}
		return h.loadSite(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	return v.(*site), nil
}

// loadSite reads and parses a deployment's manifest and its _redirects and _headers.
func (h *Handler) loadSite(ctx context.Context, id string) (*site, error) {
	ctx, cancel := h.fetchContext(ctx)
	defer cancel()
	h.m.storageReads.Inc()
	data, err := h.store.GetBytes(ctx, storage.ManifestKey(id), maxManifestBytes)
	if errors.Is(err, storage.ErrNotFound) {
		h.cache.add(cacheKey{kindSite, id}, &missing{expires: time.Now().Add(h.opts.AliasTTL)}, int64(len(id)))
		return nil, errNoSite
	}
	if err != nil {
		h.m.storageErrors.Inc()
		return nil, fmt.Errorf("%w: manifest of %s: %v", errUnavailable, id, err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		// A manifest the handler cannot read will not get better by retrying soon.
		h.log.Error("serve: unreadable manifest", "deployment", id, "err", err)
		h.cache.add(cacheKey{kindSite, id}, &missing{expires: time.Now().Add(time.Minute)}, int64(len(id)))
		return nil, errNoSite
	}
	m.DeploymentID = id
	var rules [2][]byte
	for i, name := range []string{redirectsFile, headersFile} {
		for _, f := range m.Files {
			if f.Path != name || !validSHA256(f.SHA256) {
				continue
			}
			h.m.storageReads.Inc()
			b, err := h.store.GetBytes(ctx, storage.BlobKey(strings.ToLower(f.SHA256)), maxRulesBytes)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				h.m.storageErrors.Inc()
				return nil, fmt.Errorf("%w: %s of %s: %v", errUnavailable, name, id, err)
			}
			rules[i] = b
		}
	}
	s := newSite(m, rules[0], rules[1])
	for _, n := range s.notes {
		h.log.Warn("serve: "+n, "deployment", id)
	}
	h.cache.add(cacheKey{kindSite, id}, s, s.weight)
	return s, nil
}

// fetchContext detaches a storage read from the request that started it: other requests
// wait on the same single-flight read, so one client going away must not fail them all.
func (h *Handler) fetchContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), h.opts.FetchTimeout)
}
