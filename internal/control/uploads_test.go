package control

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/detect"
	"github.com/skydeploy/skydeploy/internal/projects"
	"github.com/skydeploy/skydeploy/workflows"
)

// TestUploadDeployInput: an uploaded folder is production, a preview at its branch's label, or
// a preview at its own URL only, and a project's settings apply under the request's.
func TestUploadDeployInput(t *testing.T) {
	c := New(nil, testSettings(), nil)
	p := &projects.Project{Name: "site", RepoURL: "https://github.com/acme/site", ProductionBranch: "main", BuildCommand: "npm run build", OutputDir: "dist"}
	src := func(branch string) api.UploadSource {
		s := api.UploadSource{ID: "u0123456789abcdef01234567", Files: 2, Bytes: 10}
		if branch != "" {
			s.Git = &api.UploadGit{Commit: "0123456789abcdef0123456789abcdef01234567", Branch: branch}
		}
		return s
	}
	for _, tc := range []struct {
		name       string
		p          *projects.Project
		src        api.UploadSource
		production bool
		branch     string
		labels     []string
		repo       string
	}{
		{"no project", nil, src("feature"), false, "feature", nil, ""},
		{"production", p, src("feature"), true, "main", []string{"site"}, p.RepoURL},
		{"production without git", p, src(""), true, "main", []string{"site"}, p.RepoURL},
		{"preview of a branch", p, src("feature/x"), false, "feature/x", []string{projects.BranchAlias("site", "feature/x")}, p.RepoURL},
		{"preview of the production branch", p, src("main"), false, "", nil, p.RepoURL},
		{"preview without git", p, src(""), false, "", nil, p.RepoURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := c.UploadDeployInput(tc.p, tc.src, tc.production, detect.Overrides{OutputDir: "out"})
			if in.Branch != tc.branch || len(in.AliasLabels) != len(tc.labels) || in.RepoURL != tc.repo || in.Production != tc.production ||
				in.Trigger != workflows.TriggerUpload || in.Upload == nil || in.Upload.ID != tc.src.ID || in.URL != "http://"+in.DeploymentID+".test/" {
				t.Fatalf("input = %+v", in)
			}
			for i := range tc.labels {
				if in.AliasLabels[i] != tc.labels[i] {
					t.Errorf("labels %v, want %v", in.AliasLabels, tc.labels)
				}
			}
			if tc.p != nil && (in.Overrides.BuildCommand != "npm run build" || in.Overrides.OutputDir != "out") {
				t.Errorf("overrides %+v: want the project's build command and the request's output dir", in.Overrides)
			}
		})
	}
	prebuilt := src("")
	prebuilt.Prebuilt = true
	if in := c.UploadDeployInput(p, prebuilt, true, detect.Overrides{OutputDir: "out"}); in.Overrides != (detect.Overrides{}) {
		t.Errorf("a prebuilt folder got overrides %+v", in.Overrides)
	}
	if a, b := c.UploadDeployInput(nil, src(""), false, detect.Overrides{}), c.UploadDeployInput(nil, src(""), false, detect.Overrides{}); a.DeploymentID == b.DeploymentID {
		t.Error("two uploads got one deployment id")
	}
	if got := QueuedStatus(c.UploadDeployInput(nil, src(""), false, detect.Overrides{})); len(got.Steps) != len(workflows.UploadSteps) || got.Steps[0].Name != workflows.StepUpload || got.Upload == nil {
		t.Errorf("queued status of an upload: %+v", got)
	}
}

func TestCollectUploadsEvery(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		24 * time.Hour: time.Hour, 2 * time.Hour: 30 * time.Minute, time.Minute: time.Minute, 3 * time.Second: time.Minute,
	} {
		if got := CollectUploadsEvery(ttl); got != want {
			t.Errorf("CollectUploadsEvery(%s) = %s, want %s", ttl, got, want)
		}
	}
}

// TestUploadCollectionSchedule runs against the dev server: the schedule is made once and
// follows a changed TTL.
func TestUploadCollectionSchedule(t *testing.T) {
	c, tc := startControl(t)
	ctx := context.Background()
	for _, ttl := range []time.Duration{24 * time.Hour, 2 * time.Hour} {
		if err := c.EnsureUploadCollection(ctx, ttl); err != nil {
			t.Fatal(err)
		}
		d, err := tc.ScheduleClient().GetHandle(ctx, workflows.CollectUploadsScheduleID).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != CollectUploadsEvery(ttl) || !ok ||
			act.Workflow != workflows.CollectUploadsWorkflowName || act.TaskQueue != "control-test" {
			t.Fatalf("schedule for %s: spec %+v action %+v", ttl, d.Schedule.Spec, d.Schedule.Action)
		}
	}
	if err := c.CollectUploadsNow(ctx); err != nil {
		t.Fatal(err)
	}
}
