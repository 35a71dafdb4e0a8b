package e2e

import (
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/gateway"
)

// TestListAgreesWithDetail: while a Node deployment runs, the list (Temporal visibility and
// the memo) shows the same step as the detail page (the workflow's status query), within the
// moment it takes visibility to catch up.
func TestListAgreesWithDetail(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := startEnv(t, nil)
	// Slow enough in each of install and build to be seen there.
	pkg := `{"name":"slow","version":"1.0.0","private":true,"scripts":{"preinstall":"sleep 4","build":"sleep 4 && mkdir -p dist && echo ok > dist/index.html"}}`
	repo := e.git.NewRepo(t, "slow", map[string]string{
		"package.json":      pkg,
		"package-lock.json": `{"name":"slow","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"slow","version":"1.0.0"}}}`,
	})
	id := e.deploy(map[string]any{"repoUrl": repo.URL}).ID
	const catchUp = 2 * time.Second
	var mismatchSince time.Time
	seen := map[string]bool{} // steps the list showed while the detail agreed
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var d gateway.Deployment
		e.do("GET", "/api/deployments/"+id, nil, &d)
		var list struct{ Deployments []gateway.Deployment }
		e.do("GET", "/api/deployments?pageSize=5", nil, &list)
		var row *gateway.Deployment
		for i := range list.Deployments {
			if list.Deployments[i].ID == id {
				row = &list.Deployments[i]
			}
		}
		switch {
		case row != nil && row.Step == d.Step && row.State == d.State:
			mismatchSince = time.Time{}
			seen[row.Step] = true
		case mismatchSince.IsZero():
			mismatchSince = time.Now()
		case time.Since(mismatchSince) > catchUp:
			rowStep := "(not listed)"
			if row != nil {
				rowStep = row.State + "/" + row.Step
			}
			t.Fatalf("the list shows %s for %s since %s while the detail shows %s/%s", rowStep, time.Since(mismatchSince).Round(100*time.Millisecond), id, d.State, d.Step)
		}
		if d.State == "succeeded" || d.State == "failed" {
			if d.State != "succeeded" {
				t.Fatalf("deployment failed: %s", d.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deployment did not end")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !seen["build"] {
		t.Errorf("the list never showed the build step while it ran (seen %v)", seen)
	}
}
