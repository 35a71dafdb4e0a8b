package apiclient

import (
	"context"
	"io"
	"net/http"

	"github.com/skydeploy/skydeploy/internal/api"
)

// Uploads: a folder is deployed in three calls (gateway/openapi.yaml describes the protocol):
// CreateUpload sends its manifest and learns which contents the gateway lacks, PutContent sends
// each of those, DeployUpload starts the deployment.

// CreateUpload sends a folder's manifest; the answer lists the contents to send.
func (c *Client) CreateUpload(ctx context.Context, files []api.UploadFile) (api.Upload, error) {
	var out api.Upload
	return out, c.do(ctx, http.MethodPost, "/api/uploads", api.UploadRequest{Files: files}, &out)
}

// PutContent sends one content of an upload: size bytes read from open() (called again should
// the request be retried by the HTTP client). It is not bound by Timeout: a large content
// takes as long as the network needs; ctx bounds it.
func (c *Client) PutContent(ctx context.Context, uploadID, sha256 string, size int64, open func() (io.ReadCloser, error)) error {
	req, err := c.newRequest(ctx, http.MethodPut, "/api/uploads/"+esc(uploadID)+"/contents/"+esc(sha256), nil)
	if err != nil {
		return err
	}
	body, err := open()
	if err != nil {
		return err
	}
	req.Body, req.ContentLength, req.GetBody = body, size, open
	if size == 0 {
		body.Close()
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := c.send(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}

// DeployUpload starts a deployment of an upload whose contents have all been sent.
func (c *Client) DeployUpload(ctx context.Context, uploadID string, req api.UploadDeployRequest) (api.StartedDeployment, error) {
	var out api.StartedDeployment
	return out, c.do(ctx, http.MethodPost, "/api/uploads/"+esc(uploadID)+"/deploy", req, &out)
}
