package domains

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/internal/manifest"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/internal/testenv"
)

func TestClaimsOverVersity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	s := testenv.StartS3(t).Store()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	c := &Claim{Domain: "shop.test", Project: "shop", Token: "tok1", State: Pending, Deadline: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := Create(ctx, s, c); err != nil {
		t.Fatal(err)
	}
	var taken *TakenError
	if err := Create(ctx, s, &Claim{Domain: "shop.test", Project: "other", Token: "tok2", State: Pending}); !errors.As(err, &taken) || taken.Claim.Project != "shop" {
		t.Fatalf("second claim: %v", err)
	}
	// A pending claim is no routing pointer.
	if ok, _ := s.Exists(ctx, storage.DomainKey("shop.test")); ok {
		t.Fatal("a pending domain has a routing pointer")
	}
	if err := RecordCheck(ctx, s, "shop.test", "tok1", "no TXT record yet", now); err != nil {
		t.Fatal(err)
	}
	if err := Activate(ctx, s, "shop.test", "stale-token", now); !errors.Is(err, ErrGone) {
		t.Fatalf("Activate with another token: %v", err)
	}
	if err := Activate(ctx, s, "shop.test", "tok1", now); err != nil {
		t.Fatal(err)
	}
	got, _, err := Get(ctx, s, "shop.test")
	if err != nil || got.State != Verified || got.VerifiedAt == nil || got.Reason != "" {
		t.Fatalf("claim after Activate = %+v, %v", got, err)
	}
	data, err := s.GetBytes(ctx, storage.DomainKey("shop.test"), 0)
	var ptr manifest.Domain
	if err != nil || json.Unmarshal(data, &ptr) != nil || ptr.Project != "shop" || ptr.Domain != "shop.test" {
		t.Fatalf("pointer %s, %v", data, err)
	}
	if list, err := ListProject(ctx, s, "shop"); err != nil || len(list) != 1 {
		t.Fatalf("ListProject = %v, %v", list, err)
	}
	if list, err := ListProject(ctx, s, "other"); err != nil || len(list) != 0 {
		t.Fatalf("ListProject(other) = %v, %v", list, err)
	}
	if err := Remove(ctx, s, "shop.test"); err != nil {
		t.Fatal(err)
	}
	// A verification that finishes after the removal brings back neither claim nor pointer.
	if err := Activate(ctx, s, "shop.test", "tok1", now); !errors.Is(err, ErrGone) {
		t.Fatalf("Activate after Remove: %v", err)
	}
	if err := Fail(ctx, s, "shop.test", "tok1", "deadline", now); !errors.Is(err, ErrGone) {
		t.Fatalf("Fail after Remove: %v", err)
	}
	for _, k := range []string{storage.DomainKey("shop.test"), storage.DomainClaimKey("shop.test")} {
		if ok, _ := s.Exists(ctx, k); ok {
			t.Fatalf("%s exists after Remove", k)
		}
	}
	// Another project may add it now; a failed claim can be reset to pending.
	c2 := &Claim{Domain: "shop.test", Project: "other", Token: "tok3", State: Pending, CreatedAt: now}
	if err := Create(ctx, s, c2); err != nil {
		t.Fatal(err)
	}
	if err := Fail(ctx, s, "shop.test", "tok3", "no TXT record", now); err != nil {
		t.Fatal(err)
	}
	if r, err := Reset(ctx, s, "shop.test", "tok3", now.Add(time.Hour), now); err != nil || r.State != Pending || r.Reason != "" {
		t.Fatalf("Reset = %+v, %v", r, err)
	}
}
