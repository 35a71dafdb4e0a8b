package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skydeploy/skydeploy/workflows"
)

// Clone slots bound the clones a worker runs at once; a clone waiting for one gives up when
// its activity is canceled, and a freed slot lets the next one through.
func TestCloneSlots(t *testing.T) {
	a := &Activities{Settings: Settings{CloneConcurrency: 2}}
	log := a.newStepLog(context.Background(), "d", workflows.StepClone)
	defer func() { close(log.stop); <-log.done }()
	ctx := context.Background()

	var releases []func()
	for i := 0; i < 2; i++ {
		release, err := a.cloneSlot(ctx, log)
		if err != nil {
			t.Fatalf("slot %d: %v", i, err)
		}
		releases = append(releases, release)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := a.cloneSlot(waitCtx, log); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third clone with two slots taken: err = %v, want it to wait until canceled", err)
	}

	got := make(chan error, 1)
	go func() {
		release, err := a.cloneSlot(ctx, log)
		if err == nil {
			release()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("a clone got a slot while both were taken (err %v)", err)
	default:
	}
	releases[0]()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot did not let the waiting clone through")
	}
	releases[1]()

	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.pending) == 0 || !strings.Contains(log.pending[0].Text, "Waiting for a clone slot") {
		t.Errorf("waiting for a slot is not logged: %+v", log.pending)
	}
}

func TestCloneSlotsDefault(t *testing.T) {
	a := &Activities{}
	log := a.newStepLog(context.Background(), "d", workflows.StepClone)
	defer func() { close(log.stop); <-log.done }()
	for i := 0; i < defaultCloneConcurrency; i++ {
		if _, err := a.cloneSlot(context.Background(), log); err != nil {
			t.Fatal(err)
		}
	}
	if cap(a.cloneSlots) != defaultCloneConcurrency {
		t.Errorf("%d slots, want %d", cap(a.cloneSlots), defaultCloneConcurrency)
	}
}
