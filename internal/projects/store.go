package projects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/skydeploy/skydeploy/internal/storage"
)

// ErrNotFound is returned for a project that does not exist.
var ErrNotFound = errors.New("project not found")

// maxProjectBytes bounds a stored project document.
const maxProjectBytes = 16 << 20

// Store reads and writes projects in object storage.
type Store struct {
	objects *storage.Store
	sealer  *Sealer
}

// NewStore returns the project store; secretKey may be empty (projects without env vars work).
func NewStore(objects *storage.Store, secretKey string) (*Store, error) {
	s, err := NewSealer(secretKey)
	if err != nil {
		return nil, fmt.Errorf("SKYDEPLOY_SECRET_KEY: %w", err)
	}
	return &Store{objects: objects, sealer: s}, nil
}

// Sealer is the store's cipher (nil without a secret key).
func (s *Store) Sealer() *Sealer { return s.sealer }

// CanSeal reports whether environment variables can be stored.
func (s *Store) CanSeal() bool { return s.sealer != nil }

// Get reads project name; ErrNotFound when it does not exist.
func (s *Store) Get(ctx context.Context, name string) (*Project, error) {
	data, err := s.objects.GetBytes(ctx, storage.ProjectKey(name), maxProjectBytes)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	var p Project
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decode project %s: %w", name, err)
	}
	return &p, nil
}

// Exists reports whether project name exists.
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	return s.objects.Exists(ctx, storage.ProjectKey(name))
}

// List returns every project, sorted by name.
func (s *Store) List(ctx context.Context) ([]*Project, error) {
	objs, err := s.objects.List(ctx, storage.ProjectsPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*Project, 0, len(objs))
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, storage.ProjectsPrefix), ".json")
		if !ok || strings.Contains(name, "/") {
			continue
		}
		p, err := s.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Put writes p. Its Env values must already be sealed (see Seal).
func (s *Store) Put(ctx context.Context, p *Project) error {
	for _, e := range p.Env {
		if !strings.HasPrefix(e.Value, sealPrefix) {
			return fmt.Errorf("environment variable %s of %s is not sealed", e.Key, p.Name)
		}
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return s.objects.Put(ctx, storage.ProjectKey(p.Name), data, storage.PutOptions{ContentType: "application/json"})
}

// Delete removes project name's settings.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.objects.Delete(ctx, storage.ProjectKey(name))
}

// Seal encrypts a plain value for project's variable key.
func (s *Store) Seal(project, key, value string) (string, error) {
	return s.sealer.Seal(project, key, value)
}

// Masked returns p's environment for the API: plain values as they are, secret ones masked. A
// value that does not decrypt shows as "(unreadable)" so an operator sees the key changed.
func (s *Store) Masked(p *Project) []EnvVar {
	out := make([]EnvVar, 0, len(p.Env))
	for _, e := range p.Env {
		v, err := s.sealer.Open(p.Name, e.Key, e.Value)
		shown := v
		if !e.Plain {
			shown = Mask(v)
		}
		if err != nil {
			shown = "(unreadable)"
		}
		out = append(out, EnvVar{Key: e.Key, Value: shown, Plain: e.Plain, Target: e.EffectiveTarget()})
	}
	return out
}

// BuildSettings is what a build needs of its project: where its code comes from, whether
// this build is the production one, and its environment.
type BuildSettings struct {
	RepoURL    string
	Production bool
	// Env holds the variables that apply to this environment, decrypted.
	Env map[string]string
	// Secrets are the values of Env's secret variables, to be masked in build logs.
	Secrets []string
}

// BuildSettings returns the settings of a build of project's branch: production when the
// branch is the project's production branch. It implements activities.ProjectSource.
// ErrNotFound when the project does not exist.
func (s *Store) BuildSettings(ctx context.Context, project, branch string) (BuildSettings, error) {
	p, err := s.Get(ctx, project)
	if err != nil {
		return BuildSettings{}, err
	}
	bs := BuildSettings{RepoURL: p.RepoURL, Production: branch == p.Branch(), Env: map[string]string{}}
	for _, e := range p.Env {
		if !e.AppliesTo(bs.Production) {
			continue
		}
		v, err := s.sealer.Open(p.Name, e.Key, e.Value)
		if err != nil {
			return BuildSettings{}, fmt.Errorf("environment variable %s of project %s: %w", e.Key, p.Name, err)
		}
		bs.Env[e.Key] = v
		if !e.Plain {
			bs.Secrets = append(bs.Secrets, v)
		}
	}
	return bs, nil
}
