package ids

import "testing"

func TestNewDeploymentIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewDeployment()
		if !IsDeployment(id) {
			t.Fatalf("NewDeployment() = %q, not a deployment id", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestDeploymentForIsStable(t *testing.T) {
	a := DeploymentFor("blog", "ABCDEF0123")
	if a != DeploymentFor("Blog", "abcdef0123") {
		t.Fatalf("DeploymentFor is not case-insensitive")
	}
	if a == DeploymentFor("blog", "abcdef0124") || a == DeploymentFor("blog2", "abcdef0123") {
		t.Fatalf("DeploymentFor collides for different inputs")
	}
	if !IsDeployment(a) {
		t.Fatalf("DeploymentFor() = %q, not a deployment id", a)
	}
}

func TestValidateProject(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"blog", true},
		{"my-site-2", true},
		{"a", true},
		{"", false},
		{"1blog", false},
		{"Blog", false},
		{"blog-", false},
		{"my--site", false},
		{"my_site", false},
		{"a.b", false},
		{"abcdefghijabcdefghijabcdefghijabcdefghijk", false},
	} {
		if err := ValidateProject(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidateProject(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestWorkflowIDRoundTrip(t *testing.T) {
	id := NewDeployment()
	if got := FromWorkflowID(WorkflowID(id)); got != id {
		t.Fatalf("FromWorkflowID(WorkflowID(%q)) = %q", id, got)
	}
	if FromWorkflowID("poll-blog") != "" || FromWorkflowID("deploy-nothing") != "" {
		t.Fatalf("FromWorkflowID accepted a non-deployment id")
	}
}
