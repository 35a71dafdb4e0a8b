// Package certstore keeps the request handler's TLS certificates in object storage: an
// implementation of certmagic.Storage over internal/storage under the tls/ prefix
// (storage.TLSPrefix), so every handler replica shares certificates, keys, the ACME account
// and the HTTP-01 challenge tokens, and no replica orders a certificate another already has.
//
// Locks. certmagic takes a named lock around every order and renewal, then looks in storage
// again before ordering. A lock is the object tls/locks/<name>.json holding its owner and an
// expiry; it is created with If-None-Match: * (only one creator wins), kept alive by its holder
// with If-Match writes every TTL/4, broken when expired by one If-Match write of the expired
// version (only one breaker wins), and deleted on Unlock. What that guarantees:
//   - with versitygw (1.8+), AWS S3 and Cloudflare R2, which all honour If-None-Match and
//     If-Match on PutObject: at most one holder at a time, as long as the holder refreshes
//     within TTL (a holder stalled for longer than TTL loses the lock to a waiter, and learns
//     it at its next refresh; certmagic still checks storage after locking, so the cost is at
//     worst a second order, never a wrong certificate);
//   - a holder that crashes blocks others for at most TTL;
//   - Unlock deletes only a lock whose ETag is still the holder's where the store honours
//     If-Match on DeleteObject (versitygw, S3); R2 ignores that condition, so there a holder
//     that lost its lock and unlocks late may delete the next holder's lock, again costing at
//     most one extra order.
//
// It must never depend on Temporal, Redis or any role package.
package certstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// DefaultLockTTL is how long a lock lives without a refresh.
const DefaultLockTTL = 2 * time.Minute

// maxObjectBytes bounds what Load reads: certificates, keys and metadata are small.
const maxObjectBytes = 1 << 20

// Store is certmagic.Storage over object storage.
type Store struct {
	objects *storage.Store
	prefix  string
	owner   string
	log     *slog.Logger
	// LockTTL is how long a lock lives without a refresh (DefaultLockTTL); PollInterval how
	// often a waiting Lock looks again (1s).
	LockTTL      time.Duration
	PollInterval time.Duration

	mu   sync.Mutex
	held map[string]*heldLock
}

type heldLock struct {
	etag string
	stop chan struct{}
	done chan struct{}
}

// New returns a Store of certificates under storage.TLSPrefix of objects.
func New(objects *storage.Store, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	return &Store{
		objects: objects, prefix: storage.TLSPrefix, log: log,
		owner:   fmt.Sprintf("%s-%d-%s", host, os.Getpid(), ids.NewDeployment()),
		LockTTL: DefaultLockTTL, PollInterval: time.Second, held: map[string]*heldLock{},
	}
}

var _ certmagic.Storage = (*Store)(nil)

func (s *Store) key(k string) string { return s.prefix + strings.TrimPrefix(path.Clean("/"+k), "/") }

// Store implements certmagic.Storage.
func (s *Store) Store(ctx context.Context, key string, value []byte) error {
	return s.objects.Put(ctx, s.key(key), value, storage.PutOptions{ContentType: "application/octet-stream"})
}

// Load implements certmagic.Storage; a missing key is fs.ErrNotExist.
func (s *Store) Load(ctx context.Context, key string) ([]byte, error) {
	data, err := s.objects.GetBytes(ctx, s.key(key), maxObjectBytes)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return data, err
}

// Delete implements certmagic.Storage: the key, and every key under it as a directory.
func (s *Store) Delete(ctx context.Context, key string) error {
	k := s.key(key)
	if err := s.objects.Delete(ctx, k); err != nil {
		return err
	}
	under, err := s.objects.List(ctx, k+"/")
	if err != nil {
		return err
	}
	for _, o := range under {
		if err := s.objects.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// Exists implements certmagic.Storage: a key, or a directory of keys.
func (s *Store) Exists(ctx context.Context, key string) bool {
	k := s.key(key)
	if ok, err := s.objects.Exists(ctx, k); err == nil && ok {
		return true
	}
	under, err := s.objects.List(ctx, k+"/")
	return err == nil && len(under) > 0
}

// List implements certmagic.Storage: the keys under dir, or only its direct children
// (files and directories) unless recursive.
func (s *Store) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	base := strings.TrimPrefix(path.Clean("/"+dir), "/")
	prefix := s.prefix
	if base != "" {
		prefix += base + "/"
	}
	objs, err := s.objects.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, prefix)
		if !recursive {
			if i := strings.IndexByte(rel, '/'); i >= 0 {
				rel = rel[:i]
			}
		}
		k := path.Join(base, rel)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
	}
	sort.Strings(out)
	return out, nil
}

// Stat implements certmagic.Storage.
func (s *Store) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	info, err := s.objects.Stat(ctx, s.key(key))
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: info.LastModified, Size: info.Size, IsTerminal: true}, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return certmagic.KeyInfo{}, err
	}
	under, lerr := s.objects.List(ctx, s.key(key)+"/")
	if lerr != nil {
		return certmagic.KeyInfo{}, lerr
	}
	if len(under) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, Modified: under[0].LastModified, IsTerminal: false}, nil
}

func (s *Store) String() string { return "object storage " + s.objects.Bucket() + "/" + s.prefix }

// lockRecord is the body of a lock object.
type lockRecord struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// LockKey is the object that holds lock name.
func (s *Store) LockKey(name string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
	return s.prefix + "locks/" + clean + ".json"
}

func (s *Store) record() []byte {
	b, _ := json.Marshal(lockRecord{Owner: s.owner, Expires: time.Now().Add(s.LockTTL)})
	return b
}

// Lock implements certmagic.Locker (see the package comment for what it guarantees).
func (s *Store) Lock(ctx context.Context, name string) error {
	key := s.LockKey(name)
	for {
		ok, err := s.tryLock(ctx, name, key)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.PollInterval):
		}
	}
}

// TryLock implements certmagic.TryLocker.
func (s *Store) TryLock(ctx context.Context, name string) (bool, error) {
	return s.tryLock(ctx, name, s.LockKey(name))
}

func (s *Store) tryLock(ctx context.Context, name, key string) (bool, error) {
	etag, err := s.objects.PutIfAbsent(ctx, key, s.record(), storage.PutOptions{ContentType: "application/json"})
	if err == nil {
		s.hold(name, key, etag)
		return true, nil
	}
	if !errors.Is(err, storage.ErrPrecondition) {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	data, etag, err := s.objects.GetWithETag(ctx, key, 64<<10)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil // released meanwhile: try again at once next round
	}
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	var rec lockRecord
	if json.Unmarshal(data, &rec) == nil && time.Now().Before(rec.Expires) {
		return false, nil
	}
	// Expired (or unreadable): take it over, unless another waiter did first.
	newTag, err := s.objects.PutIfMatch(ctx, key, s.record(), etag, storage.PutOptions{ContentType: "application/json"})
	if errors.Is(err, storage.ErrPrecondition) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	s.log.Warn("certstore: took over an expired lock", "lock", name, "previous_owner", rec.Owner)
	s.hold(name, key, newTag)
	return true, nil
}

// hold remembers a lock taken and keeps it alive until Unlock.
func (s *Store) hold(name, key, etag string) {
	h := &heldLock{etag: etag, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	go func() {
		defer close(h.done)
		t := time.NewTicker(s.LockTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.LockTTL/4)
			s.mu.Lock()
			old := h.etag
			s.mu.Unlock()
			tag, err := s.objects.PutIfMatch(ctx, key, s.record(), old, storage.PutOptions{ContentType: "application/json"})
			cancel()
			switch {
			case err == nil:
				s.mu.Lock()
				h.etag = tag
				s.mu.Unlock()
			case errors.Is(err, storage.ErrPrecondition):
				s.log.Error("certstore: lost a lock (it expired and another replica took it)", "lock", name)
				return
			default:
				s.log.Warn("certstore: could not refresh a lock", "lock", name, "error", err)
			}
		}
	}()
}

// Unlock implements certmagic.Locker.
func (s *Store) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("unlock %s: not held by this process", name)
	}
	close(h.stop)
	<-h.done
	s.mu.Lock()
	etag := h.etag
	s.mu.Unlock()
	err := s.objects.DeleteIfMatch(ctx, s.LockKey(name), etag)
	if errors.Is(err, storage.ErrPrecondition) {
		return nil // another replica holds it now: not ours to delete
	}
	return err
}

// CheckWritable writes and deletes a probe object, to find out at start whether this key may
// write certificates (the bucket policy, or a token of the certificates' own bucket).
func (s *Store) CheckWritable(ctx context.Context) error {
	key := s.prefix + "probe/" + s.owner
	if err := s.objects.Put(ctx, key, []byte("ok"), storage.PutOptions{}); err != nil {
		return err
	}
	return s.objects.Delete(ctx, key)
}
