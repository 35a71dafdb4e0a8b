// Package ids makes deployment ids and checks the names that become host labels.
//
// A deployment id is 12 characters of lowercase Crockford base32 whose first character is a
// digit, so it is a valid DNS label and can never be mistaken for a project name (project
// names start with a letter). It must never depend on anything outside the standard library.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Length of a deployment id.
const Length = 12

var deploymentRe = regexp.MustCompile(`^[0-9][0-9a-hjkmnp-tv-z]{11}$`)

// projectRe: DNS-safe label, starts with a letter, 1 to 40 characters, no trailing hyphen.
var projectRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)

// NewDeployment returns a fresh random deployment id.
func NewDeployment() string {
	var b [Length]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return encode(b[:])
}

// DeploymentFor derives the deployment id of a project's commit, so that every trigger of the
// same commit (poll, webhook, a second click) names the same deployment.
func DeploymentFor(project, commitSHA string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(project) + "\x00" + strings.ToLower(commitSHA)))
	return encode(sum[:Length])
}

func encode(b []byte) string {
	out := make([]byte, len(b))
	out[0] = alphabet[int(b[0])%10]
	for i := 1; i < len(b); i++ {
		out[i] = alphabet[int(b[i])%32]
	}
	return string(out)
}

// IsDeployment reports whether s has the form of a deployment id.
func IsDeployment(s string) bool { return deploymentRe.MatchString(s) }

// ValidateProject returns a readable error when name cannot be a project name.
func ValidateProject(name string) error {
	if !projectRe.MatchString(name) {
		return fmt.Errorf("project name %q must be 1-40 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen", name)
	}
	if strings.Contains(name, "--") {
		return fmt.Errorf("project name %q must not contain two hyphens in a row (they separate branch aliases)", name)
	}
	return nil
}

// WorkflowID is the Temporal workflow id of a deployment.
func WorkflowID(deploymentID string) string { return "deploy-" + deploymentID }

// FromWorkflowID returns the deployment id of a deployment workflow id, or "" if it is not one.
func FromWorkflowID(workflowID string) string {
	id, ok := strings.CutPrefix(workflowID, "deploy-")
	if !ok || !IsDeployment(id) {
		return ""
	}
	return id
}
