package api

import "time"

// File modes of uploaded files: a regular file, or an executable one. Nothing else (links,
// owners, times) is uploaded, as in source snapshots.
const (
	ModeFile       = 0o644
	ModeExecutable = 0o755
)

// UploadFile is one file of an uploaded folder: its slash path relative to the folder, the
// SHA-256 of its content (lower-case hex), its size and its mode (ModeFile or ModeExecutable).
type UploadFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Mode   int    `json:"mode"`
}

// UploadRequest is the body of POST /api/uploads: the manifest of a folder.
type UploadRequest struct {
	Files []UploadFile `json:"files"`
}

// Upload answers POST /api/uploads: the upload's id and the contents the gateway lacks, which
// the client sends with PUT /api/uploads/{id}/contents/{sha256} before deploying it.
type Upload struct {
	ID string `json:"id"`
	// Missing lists the SHA-256s of the contents to send (each once, however many files share it).
	Missing []string `json:"missing"`
	// MissingBytes is the size of the missing contents together.
	MissingBytes int64 `json:"missingBytes"`
	Files        int   `json:"files"`
	Bytes        int64 `json:"bytes"`
	// Contents counts the distinct contents of the folder.
	Contents int `json:"contents"`
	// ExpiresAt is when the upload is garbage-collected (SKYDEPLOY_UPLOAD_TTL after it was made).
	ExpiresAt time.Time `json:"expiresAt"`
}

// UploadedContent answers PUT /api/uploads/{id}/contents/{sha256}.
type UploadedContent struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// UploadDeployRequest is the body of POST /api/uploads/{id}/deploy. Without Project the
// deployment is served at its own URL only. With Project it is one of that project's
// deployments (its settings apply unless the request overrides them): Production makes it
// live at the project's URL; otherwise it is a preview, at <project>--<branch> when the folder
// was a checkout of a branch other than the production branch, else at its own URL only.
type UploadDeployRequest struct {
	Project    string `json:"project,omitempty"`
	Production bool   `json:"production,omitempty"`
	// Prebuilt publishes the files as they are: no detection, no build.
	Prebuilt       bool       `json:"prebuilt,omitempty"`
	Git            *UploadGit `json:"git,omitempty"`
	RootDir        string     `json:"rootDir,omitempty"`
	InstallCommand string     `json:"installCommand,omitempty"`
	BuildCommand   string     `json:"buildCommand,omitempty"`
	OutputDir      string     `json:"outputDir,omitempty"`
}

// UploadGit describes the git checkout an uploaded folder was part of, as the client saw it.
// It is shown, never trusted: the files deployed are the uploaded ones.
type UploadGit struct {
	Commit  string `json:"commit"`
	Branch  string `json:"branch,omitempty"`
	Message string `json:"message,omitempty"`
	Author  string `json:"author,omitempty"`
	Email   string `json:"email,omitempty"`
	// Dirty says the working tree differed from the commit (changed or untracked files).
	Dirty bool `json:"dirty"`
}

// UploadSource is the source of a deployment made from an uploaded folder (DeploymentStatus.Upload).
type UploadSource struct {
	ID       string     `json:"id"`
	Files    int        `json:"files"`
	Bytes    int64      `json:"bytes"`
	Prebuilt bool       `json:"prebuilt,omitempty"`
	Git      *UploadGit `json:"git,omitempty"`
}

// UploadLimits are the gateway's limits on an uploaded folder (GET /api/config), which the
// client checks before uploading: the repository limits of SKYDEPLOY_MAX_REPO_BYTES,
// SKYDEPLOY_MAX_FILES and SKYDEPLOY_MAX_FILE_BYTES.
type UploadLimits struct {
	MaxBytes     int64 `json:"maxBytes"`
	MaxFiles     int   `json:"maxFiles"`
	MaxFileBytes int64 `json:"maxFileBytes"`
}
