package gitfetch

import (
	"context"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"
)

// LsRemote lists the branches of a remote repository and their head commits, as `git ls-remote
// --heads` does: one small request, no objects fetched. It goes through the same guarded
// transport as Fetch, so a host name cannot lead it to an internal address. Errors are *Error.
func LsRemote(ctx context.Context, o Options) (map[string]string, error) {
	install()
	ctx = withPolicy(ctx, o.policy(16<<20))
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{o.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{})
	if err != nil {
		return nil, classify(o, err)
	}
	out := map[string]string{}
	for _, r := range refs {
		if r.Name().IsBranch() && !r.Hash().IsZero() {
			out[r.Name().Short()] = r.Hash().String()
		}
	}
	return out, nil
}
