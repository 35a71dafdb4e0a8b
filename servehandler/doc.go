// Package servehandler is SkyDeploy's request handler: it maps
//
//	<deployment-id>.<base-domain>        one immutable deployment
//	<project>.<base-domain>              the project's live deployment (alias pointer)
//	<project>--<branch>.<base-domain>    a branch's live deployment (alias pointer)
//	<custom-domain>                      domains/<host>.json -> project -> alias pointer
//
// to the files of a deployment in object storage, with the HTTP semantics of a good static
// host: content types from the manifest, directory indexes and clean URLs with one canonical
// trailing-slash policy, strong ETags and 304s, immutable caching of fingerprinted assets,
// byte ranges, pre-compressed brotli/gzip variants, Netlify-style _redirects and _headers,
// SPA fallback and the site's own 404.html.
//
// It reads object storage only (never Temporal or Redis), imports of SkyDeploy only hostroute,
// ids, manifest, siteheaders and storage, and keeps serving what it has cached when storage is
// down. With HTTPS on (tls.go) it also uses certmagic, whose certificate storage it is given
// (internal/certstore, built by internal/platform): the only place it writes. Keys are never built from the URL: a request path is cleaned,
// looked up in the deployment's manifest, and the key derives from the file's SHA-256.
//
// Content is read from storage once (single-flight) into one of two caches: small files in
// memory, larger ones (and their br/gzip variants) into a bounded, content-addressed folder
// on local disk, from which they are sent with sendfile(2) out of the page cache. The disk
// cache may be deleted at any time; files neither cache takes are streamed from storage.
// Connections accepted by Serve are wrapped so that a response's header block, rendered once
// per route and variant, leaves together with its body; the wrapper also answers plain GET
// and HEAD requests for cached files itself (the fast lane), handing everything else to
// net/http and Gin.
//
// Layout: handler.go (the request flow, the SPA fallback), site.go (a loaded deployment, its
// routes and their header blocks), resolve.go (host -> deployment, alias and domain
// pointers), content.go (where bytes come from: placement, single-flight fills, ranged reads
// of storage), diskcache.go (the on-disk content cache), conn.go and conn_linux.go (the
// wrapped connection: held header blocks, writev, sendfile; conn_other.go elsewhere),
// fastpath.go (the fast lane: request heads it may answer, answering them from the caches),
// respond.go (writing responses), ranges.go (merging and limiting byte ranges), paths.go
// (path safety), redirects.go and headers.go (Netlify rules), cachecontrol.go, encoding.go,
// cache.go (the byte-bounded memory LRU), metrics.go, admin.go, run.go (the servers and
// graceful shutdown), tls.go (HTTPS with ACME certificates obtained on demand for names that
// route, HTTP-01 and TLS-ALPN-01, redirects to HTTPS).
package servehandler
