package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/storage"
	"github.com/skydeploy/skydeploy/workflows"
)

// maxArchivedLogBytes caps one step's archived log; the build's own output limit is lower.
const maxArchivedLogBytes = 64 << 20

// stepLog writes a step's log lines to the live Redis stream as they come and keeps them to
// archive in object storage when the step ends, so the whole log survives Redis.
type stepLog struct {
	a    *Activities
	id   string
	step string
	part string

	mu        sync.Mutex
	masker    *secretMasker // secrets replaced in every line, live and archived
	pending   []livestatus.Line
	archive   bytes.Buffer
	truncated bool
	redisErr  error

	stop chan struct{}
	done chan struct{}
}

func (a *Activities) newStepLog(ctx context.Context, deploymentID, step string) *stepLog {
	idx := 0
	for i, s := range workflows.AllSteps {
		if s == step {
			idx = i
		}
	}
	return a.newStepLogAt(ctx, deploymentID, step, idx)
}

// newStepLogAt is newStepLog for a step that runs idx-th (its archived parts sort by it): a
// deployment of an uploaded folder runs its upload step first (uploads.go).
func (a *Activities) newStepLogAt(ctx context.Context, deploymentID, step string, idx int) *stepLog {
	attempt := int32(1)
	if activity.IsActivity(ctx) {
		attempt = activity.GetInfo(ctx).Attempt
	}
	l := &stepLog{
		a: a, id: deploymentID, step: step,
		part: fmt.Sprintf("%d-%s-%03d-%d", idx, step, attempt, time.Now().UnixMilli()),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go l.flushLoop()
	return l
}

// Printf adds a system line.
func (l *stepLog) Printf(format string, args ...any) {
	l.Line("system", fmt.Sprintf(format, args...))
}

// maskSecrets makes every later line replace the values of secrets with "***".
func (l *stepLog) maskSecrets(m *secretMasker) {
	l.mu.Lock()
	l.masker = m
	l.mu.Unlock()
}

// mask returns text with the step's secrets replaced, for text that leaves the step another
// way than its log (a failure message).
func (l *stepLog) mask(text string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.masker.mask(text)
}

// Line adds one line of the given stream (stdout, stderr, system).
func (l *stepLog) Line(stream, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := livestatus.Line{Step: l.step, Stream: stream, Text: l.masker.mask(text), Time: time.Now().UTC()}
	l.pending = append(l.pending, line)
	if l.archive.Len() < maxArchivedLogBytes {
		data, _ := json.Marshal(line)
		l.archive.Write(data)
		l.archive.WriteByte('\n')
	} else {
		l.truncated = true
	}
}

func (l *stepLog) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.flush()
		case <-l.stop:
			l.flush()
			return
		}
	}
}

func (l *stepLog) flush() {
	if l.a.Live == nil {
		return
	}
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.a.Live.AppendLog(ctx, l.id, batch); err != nil && l.redisErr == nil {
		l.redisErr = err
		l.a.logger().Warn("live log unavailable; the log is still archived", "deployment", l.id, "step", l.step, "error", err)
	}
}

// Close flushes the live stream and archives the step's log in object storage.
func (l *stepLog) Close(ctx context.Context) {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	if l.truncated {
		data, _ := json.Marshal(livestatus.Line{Step: l.step, Stream: "system", Text: "[log truncated in the archive]", Time: time.Now().UTC()})
		l.archive.Write(data)
		l.archive.WriteByte('\n')
	}
	data := append([]byte(nil), l.archive.Bytes()...)
	l.mu.Unlock()
	if len(data) == 0 {
		return
	}
	// The archive must survive even when the step's own context was canceled.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := l.a.Store.Put(actx, storage.LogPartKey(l.id, l.part), data, storage.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
		l.a.logger().Warn("archive log part", "deployment", l.id, "step", l.step, "error", err)
	}
}
