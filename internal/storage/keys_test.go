package storage

import (
	"strings"
	"testing"
)

// TestKeys pins the bucket layout documented in keys.go: every role reads what another wrote,
// so a changed key is lost data.
func TestKeys(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		got, want, prefix string
	}{
		{SourceKey("k3x9a2m4p7qd"), "sources/k3x9a2m4p7qd.tar.gz", SourcesPrefix},
		{ArtifactKey("k3x9a2m4p7qd"), "artifacts/k3x9a2m4p7qd.tar.gz", ArtifactsPrefix},
		{BlobKey(sha), "blobs/" + sha, BlobsPrefix},
		{BlobVariantKey(sha, "br"), "blobs/" + sha + ".br", BlobsPrefix},
		{BlobVariantKey(sha, "gz"), "blobs/" + sha + ".gz", BlobsPrefix},
		{ManifestKey("k3x9a2m4p7qd"), "deployments/k3x9a2m4p7qd/manifest.json", DeploymentsPrefix},
		{LogPartKey("k3x9a2m4p7qd", "0003-build-1"), "deployments/k3x9a2m4p7qd/logs/0003-build-1.ndjson", LogPrefix("k3x9a2m4p7qd")},
		{AliasKey("Blog"), "aliases/blog.json", AliasesPrefix},
		{AliasKey("blog--feature-x"), "aliases/blog--feature-x.json", AliasesPrefix},
		{ProjectKey("My-Site"), "projects/my-site.json", ProjectsPrefix},
		{CacheKey("blog", "npm-1f2e"), "cache/blog/npm-1f2e.tar.gz", CachePrefix},
		{TokenKey(sha), "tokens/" + sha + ".json", TokensPrefix},
		{DomainKey("WWW.Example.com"), "domains/www.example.com.json", DomainsPrefix},
		{DomainClaimKey("WWW.Example.com"), "domain-claims/www.example.com.json", ClaimsPrefix},
		{UploadManifestKey("u0123456789abcdef01234567"), "uploads/manifests/u0123456789abcdef01234567.json", UploadManifestsPrefix},
		{UploadBlobKey(sha), "uploads/blobs/" + sha, UploadBlobsPrefix},
	} {
		if tc.got != tc.want {
			t.Errorf("key = %q, want %q", tc.got, tc.want)
		}
		if !strings.HasPrefix(tc.got, tc.prefix) {
			t.Errorf("key %q is not under its listing prefix %q", tc.got, tc.prefix)
		}
	}
	if got := LogPrefix("k3x9a2m4p7qd"); got != "deployments/k3x9a2m4p7qd/logs/" {
		t.Errorf("LogPrefix = %q", got)
	}
	// A deployment's log parts must not be listed as part of another deployment whose id is a
	// prefix of it, and its manifest must sit under the deployments prefix beside its logs.
	if strings.HasPrefix(LogPartKey("abc1", "x"), LogPrefix("abc")) {
		t.Error("LogPrefix of abc matches the logs of abc1")
	}
	if strings.HasPrefix(ManifestKey("abc"), LogPrefix("abc")) {
		t.Error("the manifest is listed as a log part")
	}
	// Prefixes are disjoint: listing one never returns another's objects.
	prefixes := []string{SourcesPrefix, ArtifactsPrefix, BlobsPrefix, DeploymentsPrefix, AliasesPrefix, ProjectsPrefix, CachePrefix, TokensPrefix, DomainsPrefix, ClaimsPrefix, TLSPrefix}
	for i, a := range prefixes {
		for j, b := range prefixes {
			if i != j && strings.HasPrefix(a, b) {
				t.Errorf("prefix %q lies under %q", a, b)
			}
		}
	}
}
