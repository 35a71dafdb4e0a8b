package metrics

import "github.com/prometheus/client_golang/prometheus"

// Names of the gateway's upload series (folders deployed from the command line).
const (
	NameUploadsCreated           = "skydeploy_uploads_created_total"
	NameUploadContentsFound      = "skydeploy_upload_contents_found_total"
	NameUploadContentsMissing    = "skydeploy_upload_contents_missing_total"
	NameUploadContentsReceived   = "skydeploy_upload_contents_received_total"
	NameUploadContentBytesStored = "skydeploy_upload_content_bytes_received_total"
)

var (
	uploadsCreated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: NameUploadsCreated, Help: "Folder manifests accepted (POST /api/uploads).",
	})
	uploadContentsFound = prometheus.NewCounter(prometheus.CounterOpts{
		Name: NameUploadContentsFound, Help: "Distinct contents of accepted manifests that were already stored (not sent again).",
	})
	uploadContentsMissing = prometheus.NewCounter(prometheus.CounterOpts{
		Name: NameUploadContentsMissing, Help: "Distinct contents of accepted manifests that the client was asked to send.",
	})
	uploadContentsReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: NameUploadContentsReceived, Help: "Contents received, verified and stored (PUT /api/uploads/{id}/contents/{sha256}).",
	})
	uploadContentBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: NameUploadContentBytesStored, Help: "Bytes of the contents received and stored.",
	})
)

func init() {
	Registry.MustRegister(uploadsCreated, uploadContentsFound, uploadContentsMissing, uploadContentsReceived, uploadContentBytes)
}

// UploadCreated counts an accepted manifest: how many of its distinct contents were already
// stored and how many the client must send.
func UploadCreated(found, missing int) {
	uploadsCreated.Inc()
	uploadContentsFound.Add(float64(found))
	uploadContentsMissing.Add(float64(missing))
}

// UploadContentReceived counts a content received, verified and stored.
func UploadContentReceived(size int64) {
	uploadContentsReceived.Inc()
	uploadContentBytes.Add(float64(size))
}
