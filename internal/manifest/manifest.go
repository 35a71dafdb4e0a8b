// Package manifest defines the per-deployment manifest and the alias pointer: the two small JSON
// documents that the publisher writes and the request handler reads.
//
// It must never depend on storage clients, Temporal or Redis.
package manifest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version of the manifest format.
const Version = 1

// File is one published file.
type File struct {
	// Path is the URL path of the file without the leading slash, e.g. "assets/app.js".
	Path string `json:"path"`
	// Size in bytes of the identity encoding.
	Size int64 `json:"size"`
	// ContentType with charset for text, e.g. "text/html; charset=utf-8".
	ContentType string `json:"contentType"`
	// SHA256 is the hex SHA-256 of the content; the blob key and the ETag derive from it.
	SHA256 string `json:"sha256"`
	// Encodings lists compressed variants stored beside the blob ("br", "gz") with their sizes.
	Encodings map[string]int64 `json:"encodings,omitempty"`
}

// Manifest lists every file of a deployment. Its presence in object storage makes the
// deployment live at its own URL.
type Manifest struct {
	Version      int    `json:"version"`
	DeploymentID string `json:"deploymentId"`
	Project      string `json:"project,omitempty"`
	Commit       string `json:"commit,omitempty"`
	Kind         string `json:"kind"`
	Framework    string `json:"framework,omitempty"`
	// SPA makes navigation requests for unknown paths fall back to /index.html.
	SPA       bool      `json:"spa,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// RequestedAt is when the deployment was asked for; it orders deployments of a project.
	RequestedAt time.Time `json:"requestedAt,omitempty"`
	Files       []File    `json:"files"`
	// TotalSize is the sum of all file sizes.
	TotalSize int64 `json:"totalSize"`
}

// Index maps each path to its file, for lookups.
func (m *Manifest) Index() map[string]*File {
	idx := make(map[string]*File, len(m.Files))
	for i := range m.Files {
		idx[m.Files[i].Path] = &m.Files[i]
	}
	return idx
}

// Parse decodes a manifest and checks its version.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("manifest version %d is not supported (want %d)", m.Version, Version)
	}
	return &m, nil
}

// Alias points a host label (a project, or a project's branch) at its live deployment.
type Alias struct {
	Label        string    `json:"label"`
	Project      string    `json:"project"`
	DeploymentID string    `json:"deploymentId"`
	UpdatedAt    time.Time `json:"updatedAt"`
	// Reason says why the alias moved: "publish", "rollback", "promote".
	Reason string `json:"reason,omitempty"`
}

// ParseAlias decodes an alias pointer.
func ParseAlias(data []byte) (*Alias, error) {
	var a Alias
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decode alias: %w", err)
	}
	if a.DeploymentID == "" {
		return nil, fmt.Errorf("alias %q names no deployment", a.Label)
	}
	return &a, nil
}

// Domain maps a custom domain to a project.
type Domain struct {
	Domain  string `json:"domain"`
	Project string `json:"project"`
}
