package aliases

import (
	"context"
	"errors"
	"testing"

	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

func TestAliasesOnObjectStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	s := testenv.StartS3(t).Store()
	ctx := context.Background()
	if _, err := Read(ctx, s, "site"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Read of a missing alias = %v, want storage.ErrNotFound", err)
	}
	for _, m := range []struct{ label, project, id string }{
		{"site", "site", "0aaaaaaaaaaa"}, {"site--feature", "site", "0bbbbbbbbbbb"},
		{"site--x", "site--x", "0ccccccccccc"}, // the project "site--x" is not site's
		{"other", "other", "0ddddddddddd"},
	} {
		if err := Move(ctx, s, m.label, m.project, m.id, ReasonPublish); err != nil {
			t.Fatal(err)
		}
	}
	a, err := Read(ctx, s, "site")
	if err != nil || a.DeploymentID != "0aaaaaaaaaaa" || a.Project != "site" || a.Reason != ReasonPublish || a.UpdatedAt.IsZero() {
		t.Fatalf("Read = %+v, %v", a, err)
	}
	if err := Move(ctx, s, "site", "site", "0eeeeeeeeeee", ReasonRollback); err != nil {
		t.Fatal(err)
	}
	if a, _ := Read(ctx, s, "site"); a.DeploymentID != "0eeeeeeeeeee" || a.Reason != ReasonRollback {
		t.Fatalf("after the rollback: %+v", a)
	}
	if err := s.Put(ctx, storage.AliasKey("broken"), []byte("{"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(ctx, s, "broken"); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("Read of a broken alias = %v, want ErrUnreadable", err)
	}
	targets, err := Targets(ctx, s)
	if err != nil || len(targets) != 4 || !targets["0eeeeeeeeeee"] || targets["0aaaaaaaaaaa"] {
		t.Fatalf("Targets = %v, %v", targets, err)
	}
	if err := DeleteProject(ctx, s, "site"); err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]bool{"site": false, "site--feature": false, "site--x": true, "other": true} {
		_, err := Read(ctx, s, label)
		if exists := err == nil; exists != want {
			t.Errorf("after deleting project site, alias %s exists = %v (%v)", label, exists, err)
		}
	}
}
