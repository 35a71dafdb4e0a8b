package apiclient

// ListOptions filter and page deployment lists.
type ListOptions struct {
	Project   string // only this project's deployments
	Status    string // running, succeeded, failed or canceled
	PageSize  int    // 1..100 (default 20)
	PageToken string // NextPageToken of the previous page
}

// String returns a pointer to s (for api.ProjectInput fields).
func String(s string) *string { return &s }

// Bool returns a pointer to b (for api.WatchInput and api.EnvVarInput fields).
func Bool(b bool) *bool { return &b }
