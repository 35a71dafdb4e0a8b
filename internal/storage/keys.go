package storage

import "strings"

// The key layout of the bucket. Everything durable about a deployment lives under these keys;
// nothing else (Redis, a worker's disk) is needed to serve or rebuild it.
//
//	sources/<id>.tar.gz             source snapshot of a deployment (input of the build)
//	artifacts/<id>.tar.gz           build output of a deployment (input of publish)
//	blobs/<sha256>                  a file's content, stored once however many deployments use it
//	blobs/<sha256>.gz, .br          its compressed variants, made once at publish time
//	deployments/<id>/manifest.json  the manifest; its presence is what makes a deployment live
//	deployments/<id>/logs/<part>    the archived log, one part per step attempt
//	aliases/<label>.json            pointer from a project (or branch) label to its live deployment
//	projects/<name>.json            project settings
//	cache/<project>/<key>.tar.gz    build caches, per project
//	tokens/<sha256-of-token>.json   API tokens, stored hashed
//	domains/<host>.json             custom domain -> project: the routing pointer the request
//	                                handler reads, written only once the domain is verified
//	domain-claims/<host>.json       a project's claim on a custom domain: state (pending,
//	                                verified, failed), verification token, reason, times; one
//	                                per host, so a domain belongs to at most one project
//	tls/<certmagic key>             TLS certificates, keys, ACME accounts and challenge tokens
//	                                of the request handler (certmagic's storage), shared by every
//	                                replica; tls/locks/<name>.json are its locks. The only prefix
//	                                the request handler may write (GrantReadOnly)
//	uploads/manifests/<id>.json     an uploaded folder's manifest (paths, hashes, sizes, modes)
//	uploads/blobs/<sha256>          a content of uploaded folders, stored once; never served:
//	                                unlike blobs/, these are sources nobody published.
//	                                Manifests go a day (SKYDEPLOY_UPLOAD_TTL) after they were
//	                                made, contents a day after their upload when no manifest
//	                                lists them any more (activities/uploads.go)
const (
	SourcesPrefix     = "sources/"
	ArtifactsPrefix   = "artifacts/"
	BlobsPrefix       = "blobs/"
	DeploymentsPrefix = "deployments/"
	AliasesPrefix     = "aliases/"
	ProjectsPrefix    = "projects/"
	CachePrefix       = "cache/"
	TokensPrefix      = "tokens/"
	DomainsPrefix     = "domains/"
	ClaimsPrefix      = "domain-claims/"
	TLSPrefix         = "tls/"

	UploadManifestsPrefix = "uploads/manifests/"
	UploadBlobsPrefix     = "uploads/blobs/"
)

// SourceKey is the source snapshot of deployment id.
func SourceKey(id string) string { return SourcesPrefix + id + ".tar.gz" }

// ArtifactKey is the build output archive of deployment id.
func ArtifactKey(id string) string { return ArtifactsPrefix + id + ".tar.gz" }

// BlobKey is the content-addressed key of a file with the given hex SHA-256.
func BlobKey(sha256Hex string) string { return BlobsPrefix + sha256Hex }

// BlobVariantKey is a compressed variant ("gz" or "br") of a blob.
func BlobVariantKey(sha256Hex, encoding string) string {
	return BlobsPrefix + sha256Hex + "." + encoding
}

// ManifestKey is the manifest of deployment id.
func ManifestKey(id string) string { return DeploymentsPrefix + id + "/manifest.json" }

// LogPrefix is where the archived log parts of deployment id live; parts sort in log order.
func LogPrefix(id string) string { return DeploymentsPrefix + id + "/logs/" }

// LogPartKey is one archived log part of deployment id.
func LogPartKey(id, part string) string { return LogPrefix(id) + part + ".ndjson" }

// AliasKey is the alias pointer for a host label (a project name or project-branch label).
func AliasKey(label string) string { return AliasesPrefix + strings.ToLower(label) + ".json" }

// ProjectKey holds the settings of project name.
func ProjectKey(name string) string { return ProjectsPrefix + strings.ToLower(name) + ".json" }

// CacheKey is a build cache archive of a project.
func CacheKey(project, key string) string { return CachePrefix + project + "/" + key + ".tar.gz" }

// TokenKey holds an API token's record, named by the token's hash.
func TokenKey(hashHex string) string { return TokensPrefix + hashHex + ".json" }

// DomainKey maps a custom domain (lower case, no port) to a project.
func DomainKey(host string) string { return DomainsPrefix + strings.ToLower(host) + ".json" }

// DomainClaimKey holds a project's claim on a custom domain (lower case, no port).
func DomainClaimKey(host string) string { return ClaimsPrefix + strings.ToLower(host) + ".json" }

// UploadManifestKey is the manifest of upload id.
func UploadManifestKey(id string) string { return UploadManifestsPrefix + id + ".json" }

// UploadBlobKey is an uploaded content, named by its hex SHA-256.
func UploadBlobKey(sha256Hex string) string { return UploadBlobsPrefix + sha256Hex }
