package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// The fault and abuse suites record what they injected; TestMain prints one summary line and
// writes it to test-artifacts/faults-summary.txt for `make test` to show.
var tally = struct {
	sync.Mutex
	faults          []string
	hostile         []string
	deployments     int
	files           int
	integrityErrors []string
}{}

// faultSurvived records a fault injected into the real stack that the platform survived.
func faultSurvived(name string) {
	tally.Lock()
	defer tally.Unlock()
	tally.faults = append(tally.faults, name)
}

// hostileRejected records a hostile input that was rejected or neutralised.
func hostileRejected(names ...string) {
	tally.Lock()
	defer tally.Unlock()
	tally.hostile = append(tally.hostile, names...)
}

// verifyDeployments checks that every published deployment in the bucket is whole: each file
// of its manifest is stored with the size and SHA-256 the manifest names. Every test env runs it
// before it stops, so no test can lose data unnoticed.
func verifyDeployments(t testing.TB, store *storage.Store) {
	ctx := context.Background()
	objs, err := store.List(ctx, storage.DeploymentsPrefix)
	if err != nil {
		t.Errorf("list deployments: %v", err)
		return
	}
	checked := map[string]bool{}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, "/manifest.json") {
			continue
		}
		data, err := store.GetBytes(ctx, o.Key, 64<<20)
		if err != nil {
			t.Errorf("read %s: %v", o.Key, err)
			continue
		}
		m, err := manifest.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", o.Key, err)
			continue
		}
		for _, f := range m.Files {
			if checked[f.SHA256] {
				continue
			}
			blob, err := store.GetBytes(ctx, storage.BlobKey(f.SHA256), 1<<30)
			sum := sha256.Sum256(blob)
			if err != nil || hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(blob)) != f.Size {
				msg := fmt.Sprintf("deployment %s: file %s is missing or corrupt (%v)", m.DeploymentID, f.Path, err)
				t.Error(msg)
				tally.Lock()
				tally.integrityErrors = append(tally.integrityErrors, msg)
				tally.Unlock()
				continue
			}
			checked[f.SHA256] = true
		}
		tally.Lock()
		tally.deployments++
		tally.files += len(m.Files)
		tally.Unlock()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	tally.Lock()
	if len(tally.faults)+len(tally.hostile)+tally.deployments > 0 {
		sort.Strings(tally.faults)
		line := fmt.Sprintf("fault-injection: %d faults injected and survived; %d hostile inputs tried and rejected or neutralised; %d published deployments (%d files) checked against their manifests, %d lost or corrupt",
			len(tally.faults), len(tally.hostile), tally.deployments, tally.files, len(tally.integrityErrors))
		fmt.Println(line)
		if len(tally.faults) > 0 {
			fmt.Println("  faults: " + strings.Join(tally.faults, "; "))
		}
		if dir := os.Getenv("SKYDEPLOY_TEST_ARTIFACTS"); dir != "" {
			_ = os.MkdirAll(dir, 0o755)
			_ = os.WriteFile(filepath.Join(dir, "faults-summary.txt"), []byte(line+"\n"), 0o644)
		}
	}
	tally.Unlock()
	os.Exit(code)
}
