package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"go.temporal.io/sdk/temporal"

	"github.com/skydeploy/skydeploy/workflows"
)

type temporalSearchAttributes = temporal.SearchAttributes

func newSearchAttributes(in workflows.DeployInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.AttrStatus.ValueSet(workflows.StateQueued),
		workflows.AttrRepository.ValueSet(in.RepoURL),
		workflows.AttrProject.ValueSet(in.Project),
		workflows.AttrBranch.ValueSet(in.Branch),
		workflows.AttrTrigger.ValueSet(in.Trigger),
	)
}

func encodeToken(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// isLive reports whether a deployment is what its project's alias points at. Without projects
// it is always false.
func (s *Server) isLive(ctx context.Context, st workflows.DeploymentStatus) bool {
	if st.Project == "" || s.store == nil {
		return false
	}
	return s.aliasTarget(ctx, st.Project) == st.ID
}

// bindJSON decodes the request body into v, answering 413 for a body over the limit and 400
// with an example for anything that is not the expected JSON.
func bindJSON(c *gin.Context, v any, example string) bool {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit))
			return false
		}
		apiError(c, http.StatusBadRequest, "request body must be JSON like "+example+": "+err.Error())
		return false
	}
	return true
}
