package activities

import (
	"reflect"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/manifest"
)

func TestSelectRetained(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var deps []DeployedManifest
	for i, id := range []string{"0a", "0b", "0c", "0d", "0e"} { // 0e is newest
		deps = append(deps, DeployedManifest{ID: id, Manifest: &manifest.Manifest{CreatedAt: base.Add(time.Duration(i) * time.Hour)}})
	}
	kept, drop := SelectRetained(deps, 2, map[string]bool{"0a": true}, false)
	if !reflect.DeepEqual(kept, []string{"0e", "0d", "0a"}) || !reflect.DeepEqual(drop, []string{"0c", "0b"}) {
		t.Fatalf("kept %v, dropped %v", kept, drop)
	}
	// The live deployment among the newest counts toward keep.
	kept, drop = SelectRetained(deps, 2, map[string]bool{"0e": true}, false)
	if !reflect.DeepEqual(kept, []string{"0e", "0d"}) || !reflect.DeepEqual(drop, []string{"0c", "0b", "0a"}) {
		t.Fatalf("live newest: kept %v, dropped %v", kept, drop)
	}
	kept, drop = SelectRetained(deps, 2, map[string]bool{"0a": true}, true)
	if len(kept) != 0 || len(drop) != 5 {
		t.Fatalf("purge kept %v, dropped %v", kept, drop)
	}
}
