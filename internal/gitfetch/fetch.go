package gitfetch

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/bytesize"
)

// Options say what to fetch and under which rules.
type Options struct {
	URL    string
	Branch string // empty: the remote's default branch
	Commit string // full SHA; when set, that exact commit is fetched
	// Dir receives the clone's git storage (created when missing; it should be empty). It
	// must hold the commit until Export has written it out; the caller removes it after.
	Dir string
	// Limits bound the fetch, while it happens: MaxBytes counts both the bytes received and
	// the decompressed size of the objects received, MaxFileBytes bounds each object and
	// MaxFiles the files of a shallow fetch. 0 = no limit.
	Limits Limits
	// AllowPrivate lets connections reach internal addresses (local development and tests).
	AllowPrivate bool
	// Credentials say what each host gets; a host without an entry gets none.
	Credentials Credentials

	// internal replaces the rule for internal addresses (tests only).
	internal func(netip.AddrPort) bool
}

func (o Options) policy(networkBytes int64) *fetchPolicy {
	return &fetchPolicy{allowPrivate: o.AllowPrivate, budget: &byteBudget{limit: networkBytes}, credentials: o.Credentials, internal: o.internal}
}

// Objects larger than largeObjectBytes are streamed from the pack on disk when read, never
// held in memory whole; objectCacheBytes bounds go-git's cache of decoded objects.
const (
	largeObjectBytes = 1 << 20
	objectCacheBytes = 16 * cache.MiByte
)

// Describe is what a deployment records of a fetched commit: SHA, message, author and time.
func Describe(c *object.Commit) api.Commit {
	return api.Commit{
		SHA: c.Hash.String(), Message: strings.TrimSpace(c.Message),
		Author: c.Author.Name, Email: c.Author.Email, Time: c.Author.When.UTC().Format("2006-01-02T15:04:05Z"),
	}
}

// Kind classifies a fetch failure so callers can tell permanent from passing ones.
type Kind string

const (
	KindNotFound       Kind = "RepositoryNotFound"
	KindBranchNotFound Kind = "BranchNotFound"
	KindEmpty          Kind = "RepositoryEmpty"
	KindTooLarge       Kind = "RepositoryTooLarge"
	KindForbiddenHost  Kind = "ForbiddenHost"
	KindTransient      Kind = "GitTransient"
)

// Error is a classified fetch failure.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help.
func (e *Error) Permanent() bool { return e.Kind != KindTransient }

// Fetch clones the repository shallowly into git storage under o.Dir and returns the commit
// to deploy, read from there. The pack the server sends is checked against o.Limits before
// anything inflates it (see packcheck.go). Errors are *Error.
func Fetch(ctx context.Context, o Options) (*object.Commit, error) {
	install()
	if o.Dir == "" {
		return nil, &Error{Kind: KindTransient, Msg: "fetch " + o.URL + ": no directory to clone into", Err: errors.New("Options.Dir is empty")}
	}
	ctx = withPolicy(ctx, o.policy(o.Limits.MaxBytes))
	st, err := newCheckedStorage(o.Dir, o.Limits)
	if err != nil {
		return nil, &Error{Kind: KindTransient, Msg: fmt.Sprintf("prepare clone of %s: %v", o.URL, err), Err: err}
	}
	var (
		repo *git.Repository
		hash plumbing.Hash
	)
	if o.Commit != "" {
		repo, hash, err = fetchCommit(ctx, o, st)
	} else {
		repo, hash, err = fetchBranch(ctx, o, st)
	}
	if err != nil {
		return nil, classify(o, err)
	}
	c, err := repo.CommitObject(hash)
	if err != nil {
		return nil, &Error{Kind: KindTransient, Msg: fmt.Sprintf("read commit %s: %v", hash, err), Err: err}
	}
	return c, nil
}

// newCheckedStorage opens go-git's on-disk storage in dir, confined to it, with packs checked
// against lim as they arrive.
func newCheckedStorage(dir string, lim Limits) (*checkedStorage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fs := osfs.New(dir, osfs.WithBoundOS())
	s := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(objectCacheBytes),
		filesystem.Options{ExclusiveAccess: true, LargeObjectThreshold: largeObjectBytes})
	return &checkedStorage{Storage: s, dir: dir, budget: budgetFor(lim, false)}, nil
}

func fetchBranch(ctx context.Context, o Options, st *checkedStorage) (*git.Repository, plumbing.Hash, error) {
	opts := &git.CloneOptions{
		URL:          o.URL,
		SingleBranch: true,
		Depth:        1,
		Tags:         git.NoTags,
		NoCheckout:   true,
	}
	if o.Branch != "" {
		opts.ReferenceName = plumbing.NewBranchReferenceName(o.Branch)
	}
	repo, err := git.CloneContext(ctx, st, nil, opts)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	head, err := repo.Head()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return repo, head.Hash(), nil
}

func fetchCommit(ctx context.Context, o Options, st *checkedStorage) (*git.Repository, plumbing.Hash, error) {
	hash := plumbing.NewHash(o.Commit)
	repo, err := git.Init(st, nil)
	if err != nil {
		return nil, hash, err
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{o.URL}})
	if err != nil {
		return nil, hash, err
	}
	err = remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{config.RefSpec(o.Commit + ":refs/heads/skydeploy")},
		Depth:    1,
		Tags:     git.NoTags,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return repo, hash, nil
	}
	if !errors.Is(err, git.ErrExactSHA1NotSupported) {
		return nil, hash, err
	}
	// The server does not let clients ask for a commit by id: fetch the branch's history
	// (still within the byte limits, but no longer judged by the file limit: it holds every
	// version of every file) and find the commit in it.
	st.budget = budgetFor(o.Limits, true)
	refspec := "+refs/heads/*:refs/remotes/origin/*"
	if o.Branch != "" {
		refspec = "+refs/heads/" + o.Branch + ":refs/remotes/origin/" + o.Branch
	}
	err = remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{config.RefSpec(refspec)}, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, hash, err
	}
	if _, err := repo.CommitObject(hash); err != nil {
		return nil, hash, &Error{Kind: KindBranchNotFound, Msg: fmt.Sprintf("commit %s was not found in %s", o.Commit, o.URL), Err: err}
	}
	return repo, hash, nil
}

func classify(o Options, err error) error {
	var ge *Error
	if errors.As(err, &ge) {
		return ge
	}
	msg := err.Error()
	var le *LimitError
	switch {
	case errors.As(err, &le): // the pack check refused it; the message names the limit
		return &Error{Kind: KindTooLarge, Msg: le.Msg, Err: err}
	case errors.Is(err, ErrTooLarge):
		return &Error{Kind: KindTooLarge, Msg: fmt.Sprintf("repository %s is larger than the limit of %s fetched (SKYDEPLOY_MAX_REPO_BYTES)", o.URL, bytesize.Format(o.Limits.MaxBytes)), Err: err}
	case errors.Is(err, ErrInternalAddress):
		return &Error{Kind: KindForbiddenHost, Msg: fmt.Sprintf("repository %s resolves to an internal address, which is not allowed", o.URL), Err: err}
	case errors.Is(err, transport.ErrRepositoryNotFound), errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("repository %s was not found (or is private and no token can read it)", o.URL), Err: err}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &Error{Kind: KindEmpty, Msg: fmt.Sprintf("repository %s is empty", o.URL), Err: err}
	case errors.Is(err, plumbing.ErrReferenceNotFound), strings.Contains(msg, "couldn't find remote ref"), strings.Contains(msg, "reference not found"),
		strings.Contains(msg, "not our ref"): // a commit id the server does not have
		what := "branch " + o.Branch
		if o.Branch == "" {
			what = "default branch"
		}
		if o.Commit != "" {
			what = "commit " + o.Commit
		}
		return &Error{Kind: KindBranchNotFound, Msg: fmt.Sprintf("%s was not found in %s", what, o.URL), Err: err}
	case strings.Contains(msg, "unexpected client error: unexpected requesting") && strings.Contains(msg, "404"):
		return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("repository %s was not found", o.URL), Err: err}
	}
	return &Error{Kind: KindTransient, Msg: fmt.Sprintf("fetch %s: %v", o.URL, err), Err: err}
}
