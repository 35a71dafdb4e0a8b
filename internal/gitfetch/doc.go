// Package gitfetch clones repositories with go-git under SkyDeploy's rules, treating every
// repository and every git host as hostile:
//
//   - fetch.go: Fetch clones shallowly, at a branch or an exact commit, into git storage on
//     disk (never into memory), and classifies failures as permanent or passing (Error).
//   - packcheck.go: the pack a server sends is checked object by object as it arrives, from
//     the sizes its headers declare, before anything inflates it: decompressed bytes, files
//     and the largest object have budgets, so a small pack of a huge blob of zeros is refused
//     without being unpacked (LimitError).
//   - transport.go: one guarded HTTP transport for all of go-git: every connection is checked
//     so that a host name or a redirect cannot lead a clone to an internal address, and the
//     bytes received are counted against the fetch budget.
//   - credentials.go: which credential goes to which host; a request carries only the
//     credential of its own host, so the GitHub token never reaches another host.
//   - export.go: Export writes a commit's tree to a directory as regular files, one blob at
//     a time, refusing what a hostile tree could use to escape it.
//   - lsremote.go: LsRemote lists branch heads through the same transport.
//
// Describe turns the fetched commit into the api.Commit a deployment records. It must never
// depend on Temporal, Redis or object storage, nor on any SkyDeploy package but internal/repourl,
// internal/api (data only) and internal/bytesize.
package gitfetch
