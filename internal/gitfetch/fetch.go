package gitfetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Options say what to fetch.
type Options struct {
	URL    string
	Branch string // empty: the remote's default branch
	Commit string // full SHA; when set, that exact commit is fetched
	// MaxBytes limits the bytes fetched over the network (0 = no limit).
	MaxBytes int64
	// AllowPrivate lets connections reach internal addresses (local development and tests).
	AllowPrivate bool
	// Token authenticates to the host (GitHub token), optional.
	Token string
}

// Commit describes the fetched commit.
type Commit struct {
	SHA     string `json:"sha"`
	Message string `json:"message"`
	Author  string `json:"author"`
	Email   string `json:"email,omitempty"`
	Time    string `json:"time,omitempty"`
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

// Fetch clones the repository shallowly into memory and returns the commit to deploy.
func Fetch(ctx context.Context, o Options) (*object.Commit, error) {
	install()
	ctx = withPolicy(ctx, &fetchPolicy{allowPrivate: o.AllowPrivate, budget: &byteBudget{limit: o.MaxBytes}})
	var auth transport.AuthMethod
	if o.Token != "" {
		auth = &githttp.BasicAuth{Username: "x-access-token", Password: o.Token}
	}
	var (
		repo *git.Repository
		hash plumbing.Hash
		err  error
	)
	if o.Commit != "" {
		repo, hash, err = fetchCommit(ctx, o, auth)
	} else {
		repo, hash, err = fetchBranch(ctx, o, auth)
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

func fetchBranch(ctx context.Context, o Options, auth transport.AuthMethod) (*git.Repository, plumbing.Hash, error) {
	opts := &git.CloneOptions{
		URL:          o.URL,
		Auth:         auth,
		SingleBranch: true,
		Depth:        1,
		Tags:         git.NoTags,
		NoCheckout:   true,
	}
	if o.Branch != "" {
		opts.ReferenceName = plumbing.NewBranchReferenceName(o.Branch)
	}
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, opts)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	head, err := repo.Head()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return repo, head.Hash(), nil
}

func fetchCommit(ctx context.Context, o Options, auth transport.AuthMethod) (*git.Repository, plumbing.Hash, error) {
	hash := plumbing.NewHash(o.Commit)
	repo, err := git.Init(memory.NewStorage(), nil)
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
		Auth:     auth,
		Tags:     git.NoTags,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return repo, hash, nil
	}
	if !errors.Is(err, git.ErrExactSHA1NotSupported) {
		return nil, hash, err
	}
	// The server does not let clients ask for a commit by id: fetch the branch's history
	// (still within the byte limit) and find the commit in it.
	refspec := "+refs/heads/*:refs/remotes/origin/*"
	if o.Branch != "" {
		refspec = "+refs/heads/" + o.Branch + ":refs/remotes/origin/" + o.Branch
	}
	err = remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{config.RefSpec(refspec)}, Auth: auth, Tags: git.NoTags})
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
	switch {
	case errors.Is(err, ErrTooLarge):
		return &Error{Kind: KindTooLarge, Msg: fmt.Sprintf("repository %s is larger than the limit of %d bytes (SKYDEPLOY_MAX_REPO_BYTES)", o.URL, o.MaxBytes), Err: err}
	case errors.Is(err, ErrInternalAddress):
		return &Error{Kind: KindForbiddenHost, Msg: fmt.Sprintf("repository %s resolves to an internal address, which is not allowed", o.URL), Err: err}
	case errors.Is(err, transport.ErrRepositoryNotFound), errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("repository %s was not found (or is private and no token can read it)", o.URL), Err: err}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &Error{Kind: KindEmpty, Msg: fmt.Sprintf("repository %s is empty", o.URL), Err: err}
	case errors.Is(err, plumbing.ErrReferenceNotFound), strings.Contains(msg, "couldn't find remote ref"), strings.Contains(msg, "reference not found"):
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
