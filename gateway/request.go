package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

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
