// Package auth creates and checks API tokens. A token is shown once when created; only its
// SHA-256 is stored (in object storage, tokens/<hash>.json), so a leaked bucket listing does not
// leak tokens. Scopes: "read" may only read, "deploy" may also start, cancel and change things.
//
// It depends on object storage only: it must never import Temporal, Redis, gin or any role
// package.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/skydeploy/skydeploy/internal/storage"
)

// Scopes.
const (
	ScopeRead   = "read"
	ScopeDeploy = "deploy"
)

// tokenPrefix makes tokens recognisable (secret scanners, logs).
const tokenPrefix = "skd_"

// Token is a stored token record; the token itself is never stored.
type Token struct {
	Name      string    `json:"name"`
	Scope     string    `json:"scope"`
	Hint      string    `json:"hint"` // first characters, to tell tokens apart
	CreatedAt time.Time `json:"createdAt"`
}

// ErrInvalid is returned for an unknown token.
var ErrInvalid = errors.New("invalid API token")

// Hash returns the hex SHA-256 of a token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Generate returns a new random token.
func Generate() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool { return s == ScopeRead || s == ScopeDeploy }

// Allows reports whether a token of scope may perform a request that needs need.
func Allows(scope, need string) bool {
	return scope == ScopeDeploy || (scope == ScopeRead && need == ScopeRead)
}

// Store keeps token records in object storage, with a short in-memory cache of lookups.
type Store struct {
	objects *storage.Store
	// static is a token given by configuration (SKYDEPLOY_API_TOKEN), hashed, deploy scope.
	staticHash []byte

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	tok     *Token
	expires time.Time
}

// NewStore returns a token store. staticToken, when not empty, is accepted with deploy scope.
func NewStore(objects *storage.Store, staticToken string) *Store {
	s := &Store{objects: objects, cache: map[string]cached{}}
	if staticToken != "" {
		h := sha256.Sum256([]byte(staticToken))
		s.staticHash = h[:]
	}
	return s
}

// Create makes and stores a new token, returning it (the only time it is visible).
func (s *Store) Create(ctx context.Context, name, scope string) (string, Token, error) {
	if !ValidScope(scope) {
		return "", Token{}, fmt.Errorf("scope must be %q or %q", ScopeRead, ScopeDeploy)
	}
	tok := Generate()
	rec := Token{Name: name, Scope: scope, Hint: tok[:len(tokenPrefix)+4], CreatedAt: time.Now().UTC()}
	if err := s.Save(ctx, tok, rec); err != nil {
		return "", Token{}, err
	}
	return tok, rec, nil
}

// Save stores the record of a known token (used to keep the development token stable).
func (s *Store) Save(ctx context.Context, token string, rec Token) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.objects.Put(ctx, storage.TokenKey(Hash(token)), data, storage.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	return nil
}

// Check returns the record of token, or ErrInvalid.
func (s *Store) Check(ctx context.Context, token string) (*Token, error) {
	if token == "" {
		return nil, ErrInvalid
	}
	sum := sha256.Sum256([]byte(token))
	if s.staticHash != nil && subtle.ConstantTimeCompare(sum[:], s.staticHash) == 1 {
		return &Token{Name: "SKYDEPLOY_API_TOKEN", Scope: ScopeDeploy}, nil
	}
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return nil, ErrInvalid
	}
	h := hex.EncodeToString(sum[:])
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		if c.tok == nil {
			return nil, ErrInvalid
		}
		return c.tok, nil
	}
	data, err := s.objects.GetBytes(ctx, storage.TokenKey(h), 64<<10)
	var tok *Token
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("look up token: %w", err)
	default:
		var rec Token
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("decode token record: %w", err)
		}
		tok = &rec
	}
	s.mu.Lock()
	if len(s.cache) > 10_000 {
		s.cache = map[string]cached{}
	}
	s.cache[h] = cached{tok: tok, expires: time.Now().Add(30 * time.Second)}
	s.mu.Unlock()
	if tok == nil {
		return nil, ErrInvalid
	}
	return tok, nil
}
