package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/skydeploy/skydeploy/internal/aliases"
	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// RunningDeployments returns those of the given deployment workflow ids that are still running.
func (p *ProjectActivities) RunningDeployments(ctx context.Context, wids []string) ([]string, error) {
	var running []string
	for _, wid := range wids {
		desc, err := p.Temporal.DescribeWorkflowExecution(ctx, wid, "")
		if err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				continue
			}
			return nil, transient("TemporalUnavailable", err, "describe %s", wid)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			running = append(running, wid)
		}
	}
	return running, nil
}

// DeployedManifest is a deployment's manifest with its id.
type DeployedManifest struct {
	ID       string
	Manifest *manifest.Manifest
}

// ApplyRetention keeps the project's newest in.Keep successful deployments (those with a
// manifest) plus every deployment an alias points at, and deletes the others' manifest (first,
// so they stop being served), logs, source snapshot and build output. Then it deletes blobs that
// no remaining manifest of any project references, are older than the grace period, and only
// when no deployment is running anywhere: a running publish may be about to reference a blob it
// found already stored.
func (p *ProjectActivities) ApplyRetention(ctx context.Context, in workflows.ApplyRetentionInput) (workflows.RetentionResult, error) {
	var res workflows.RetentionResult
	all, _, err := p.readManifests(ctx)
	if err != nil {
		return res, transient("StorageUnavailable", err, "read manifests")
	}
	protected := map[string]bool{}
	if !in.Purge {
		if protected, err = aliases.Targets(ctx, p.Store); err != nil {
			return res, transient("StorageUnavailable", err, "read aliases")
		}
	}
	var mine []DeployedManifest
	for _, d := range all {
		if d.Manifest.Project == in.Project {
			mine = append(mine, d)
		}
	}
	keep, drop := SelectRetained(mine, in.Keep, protected, in.Purge)
	res.Kept = keep
	dropped := map[string]bool{}
	for _, id := range drop {
		if err := p.deleteDeployment(ctx, id); err != nil {
			return res, transient("StorageUnavailable", err, "delete deployment %s", id)
		}
		dropped[id] = true
		res.Deleted = append(res.Deleted, id)
		activity.RecordHeartbeat(ctx, id)
	}
	if len(drop) > 0 {
		p.logger().Info("retention removed deployments", "project", in.Project, "deleted", len(drop), "kept", len(keep))
	}

	// Blob collection: references of every remaining manifest of every project.
	if reason := p.deploymentsRunning(ctx); reason != "" {
		res.BlobsSkipped = reason
		return res, nil
	}
	// Re-read: a deployment that finished meanwhile added references.
	all, unreadable, err := p.readManifests(ctx)
	if err != nil {
		return res, transient("StorageUnavailable", err, "read manifests")
	}
	if unreadable > 0 {
		res.BlobsSkipped = fmt.Sprintf("%d manifests are unreadable; blobs are not collected until they are fixed", unreadable)
		return res, nil
	}
	referenced := map[string]bool{}
	for _, d := range all {
		if dropped[d.ID] {
			continue
		}
		for _, f := range d.Manifest.Files {
			referenced[f.SHA256] = true
		}
	}
	blobs, err := p.Store.List(ctx, storage.BlobsPrefix)
	if err != nil {
		return res, transient("StorageUnavailable", err, "list blobs")
	}
	grace := p.BlobGrace
	if grace == 0 {
		grace = time.Hour
	}
	cutoff := time.Now().Add(-grace)
	// Delete the blob before its variants: publish writes variants first, so "blob exists"
	// keeps implying "variants exist".
	sort.Slice(blobs, func(i, j int) bool { return len(blobs[i].Key) < len(blobs[j].Key) })
	for _, o := range blobs {
		name := strings.TrimPrefix(o.Key, storage.BlobsPrefix)
		sha, _, _ := strings.Cut(name, ".")
		if referenced[sha] || o.LastModified.After(cutoff) {
			continue
		}
		if err := p.Store.Delete(ctx, o.Key); err != nil {
			return res, transient("StorageUnavailable", err, "delete blob")
		}
		if !strings.Contains(name, ".") {
			res.BlobsDeleted++
		}
	}
	return res, nil
}

// SelectRetained splits a project's deployments into kept and deleted ids: the newest keep
// (by manifest time, the live one counted) and every protected one are kept; purge deletes all.
func SelectRetained(deps []DeployedManifest, keep int, protected map[string]bool, purge bool) (kept, drop []string) {
	sort.Slice(deps, func(i, j int) bool {
		if !deps[i].Manifest.CreatedAt.Equal(deps[j].Manifest.CreatedAt) {
			return deps[i].Manifest.CreatedAt.After(deps[j].Manifest.CreatedAt)
		}
		return deps[i].ID > deps[j].ID
	})
	n := 0
	for _, d := range deps {
		switch {
		case purge:
			drop = append(drop, d.ID)
		case protected[d.ID]:
			// A live deployment is always kept; among the newest it counts toward keep.
			kept = append(kept, d.ID)
			n++
		case n < keep:
			kept = append(kept, d.ID)
			n++
		default:
			drop = append(drop, d.ID)
		}
	}
	return kept, drop
}

func (p *ProjectActivities) readManifests(ctx context.Context) (out []DeployedManifest, unreadable int, err error) {
	objs, err := p.Store.List(ctx, storage.DeploymentsPrefix)
	if err != nil {
		return nil, 0, err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, o := range objs {
		id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, storage.DeploymentsPrefix), "/manifest.json")
		if !ok || strings.Contains(id, "/") {
			continue
		}
		g.Go(func() error {
			data, err := p.Store.GetBytes(gctx, o.Key, 256<<20)
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			m, err := manifest.Parse(data)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// An unreadable manifest is never deleted, and blob collection waits: its
				// references are unknown.
				unreadable++
				return nil
			}
			out = append(out, DeployedManifest{ID: id, Manifest: m})
			return nil
		})
	}
	err = g.Wait()
	return out, unreadable, err
}

func (p *ProjectActivities) deleteDeployment(ctx context.Context, id string) error {
	if err := p.Store.Delete(ctx, storage.ManifestKey(id)); err != nil {
		return err
	}
	logs, err := p.Store.List(ctx, storage.LogPrefix(id))
	if err != nil {
		return err
	}
	for _, o := range logs {
		if err := p.Store.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	for _, k := range []string{storage.SourceKey(id), storage.ArtifactKey(id)} {
		if err := p.Store.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// deploymentsRunning returns why blob collection must wait ("" when it may run).
func (p *ProjectActivities) deploymentsRunning(ctx context.Context) string {
	if p.Temporal == nil {
		return "no workflow client to check for running deployments"
	}
	resp, err := p.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.DeployWorkflowName),
	})
	if err != nil {
		return "could not count running deployments: " + err.Error()
	}
	if n := resp.GetCount(); n > 0 {
		return fmt.Sprintf("%d deployments are running; unreferenced blobs are collected next time", n)
	}
	return ""
}
