// Package aliases reads and writes alias pointers, the objects aliases/<label>.json that make a
// host label (a project, or a project's branch preview) serve a deployment. Moving one is a
// single object write, which is what makes publishing and rollback atomic. Publishing
// (activities) and rollback (gateway) write them here; the gateway, retention and project
// deletion read them here. The request handler reads them through its own cached store
// (servehandler/resolve.go) with the same key (storage.AliasKey) and format (manifest.Alias).
//
// It must never import Temporal, Redis, gin or any role package: it is object storage only.
package aliases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// Reasons an alias moved.
const (
	ReasonPublish  = "publish"
	ReasonRollback = "rollback"
)

// maxBytes bounds an alias object read (they are a few hundred bytes).
const maxBytes = 64 << 10

// Store is the part of object storage aliases use (*storage.Store).
type Store interface {
	GetBytes(ctx context.Context, key string, limit int64) ([]byte, error)
	Put(ctx context.Context, key string, data []byte, opts storage.PutOptions) error
	List(ctx context.Context, prefix string) ([]storage.Object, error)
	Delete(ctx context.Context, key string) error
}

// ErrUnreadable wraps an alias object that exists but does not decode.
var ErrUnreadable = errors.New("unreadable alias")

// Read returns the alias of label: storage.ErrNotFound when there is none, ErrUnreadable when
// it does not decode, another error when storage fails.
func Read(ctx context.Context, s Store, label string) (*manifest.Alias, error) {
	data, err := s.GetBytes(ctx, storage.AliasKey(label), maxBytes)
	if err != nil {
		return nil, err
	}
	a, err := manifest.ParseAlias(data)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrUnreadable, label, err)
	}
	return a, nil
}

// Move points label at a deployment of project with a single object write.
func Move(ctx context.Context, s Store, label, project, deploymentID, reason string) error {
	data, err := json.Marshal(manifest.Alias{Label: label, Project: project, DeploymentID: deploymentID, UpdatedAt: time.Now().UTC(), Reason: reason})
	if err != nil {
		return err
	}
	return s.Put(ctx, storage.AliasKey(label), data, storage.PutOptions{ContentType: "application/json"})
}

// Labeled is an alias with its object key.
type Labeled struct {
	Label string
	Key   string
	// Alias is nil when the object does not decode.
	Alias *manifest.Alias
}

// List returns every alias (an object removed while listing is left out).
func List(ctx context.Context, s Store) ([]Labeled, error) {
	objs, err := s.List(ctx, storage.AliasesPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Labeled, 0, len(objs))
	for _, o := range objs {
		label := strings.TrimSuffix(strings.TrimPrefix(o.Key, storage.AliasesPrefix), ".json")
		data, err := s.GetBytes(ctx, o.Key, maxBytes)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		l := Labeled{Label: label, Key: o.Key}
		l.Alias, _ = manifest.ParseAlias(data)
		out = append(out, l)
	}
	return out, nil
}

// Targets returns the deployments some alias points at: retention never deletes those.
func Targets(ctx context.Context, s Store) (map[string]bool, error) {
	all, err := List(ctx, s)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, l := range all {
		if l.Alias != nil {
			out[l.Alias.DeploymentID] = true
		}
	}
	return out, nil
}

// DeleteProject deletes the aliases of a project: its own label and its branch labels
// ("<project>--<branch>") unless the alias says it belongs to another project.
func DeleteProject(ctx context.Context, s Store, project string) error {
	objs, err := s.List(ctx, storage.AliasesPrefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		label := strings.TrimSuffix(strings.TrimPrefix(o.Key, storage.AliasesPrefix), ".json")
		if label != project && !strings.HasPrefix(label, project+"--") {
			continue
		}
		if a, err := Read(ctx, s, label); err == nil && a.Project != project && a.Project != "" {
			continue
		}
		if err := s.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}
