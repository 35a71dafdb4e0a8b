package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/ids"
	"github.com/skydeploy/skydeploy/internal/livestatus"
	"github.com/skydeploy/skydeploy/internal/storage"
)

// archivePrefix marks SSE event ids of lines replayed from the archive ("a-<n>").
const archivePrefix = "a-"

// streamLogs serves a deployment's log as Server-Sent Events: from the live Redis stream while
// it exists (following it until the deployment ends), else from the archive in object storage.
// Last-Event-ID resumes where the client left off.
func (s *Server) streamLogs(c *gin.Context) {
	id := c.Param("id")
	if !ids.IsDeployment(id) {
		apiError(c, http.StatusNotFound, "deployment "+id+" not found")
		return
	}
	ctx := c.Request.Context()
	if _, err := s.deployment(ctx, id); err != nil {
		s.writeLookupError(c, id, err)
		return
	}
	last := c.GetHeader("Last-Event-ID")
	if last == "" {
		last = c.Query("lastEventId")
	}
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	sse := &sseWriter{w: w}

	if strings.HasPrefix(last, archivePrefix) || !s.liveLogExists(ctx, id) {
		s.streamArchive(ctx, sse, id, last)
		return
	}
	s.streamLive(ctx, sse, id, last)
}

func (s *Server) liveLogExists(ctx context.Context, id string) bool {
	if s.live == nil {
		return false
	}
	ok, err := s.live.LogExists(ctx, id)
	return err == nil && ok
}

// streamLive follows the Redis stream until the deployment has ended and the stream is drained.
func (s *Server) streamLive(ctx context.Context, sse *sseWriter, id, last string) {
	after := last
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	var lastCheck time.Time
	lastStep := ""
	for ctx.Err() == nil {
		lines, err := s.live.ReadLog(ctx, id, after, 500, 2*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Redis went away: the archive has the lines of finished steps.
			s.log.Warn("live log unavailable, switching to the archive", "deployment", id, "error", err)
			s.streamArchive(ctx, sse, id, "")
			return
		}
		for _, l := range lines {
			sse.event("log", l.ID, l)
			after = l.ID
			if l.Step != lastStep {
				// A new step began: send the status now rather than within the second.
				lastStep, lastCheck = l.Step, time.Time{}
			}
		}
		if len(lines) > 0 {
			sse.flush()
		}
		select {
		case <-keepalive.C:
			sse.comment("keepalive")
		default:
		}
		// The status goes out at least once a second, also while lines keep coming, so the
		// steps a client shows follow the log.
		if time.Since(lastCheck) > time.Second {
			lastCheck = time.Now()
			if d, err := s.deployment(ctx, id); err == nil {
				sse.event("status", "", d)
				if api.Ended(d.State) {
					// Drain what is left so lines written just before the end are not lost.
					for {
						more, err := s.live.ReadLog(ctx, id, after, 1000, 0)
						if err != nil || len(more) == 0 {
							break
						}
						for _, l := range more {
							sse.event("log", l.ID, l)
							after = l.ID
						}
					}
					sse.event("end", "", api.LogEnd{Status: d.State})
					sse.flush()
					return
				}
			}
			sse.flush()
		}
	}
}

// streamArchive replays the archived log, then (for a deployment still running, e.g. while
// Redis is down) keeps polling the archive for new parts until it ends.
func (s *Server) streamArchive(ctx context.Context, sse *sseWriter, id, last string) {
	sent := 0
	if n, err := strconv.Atoi(strings.TrimPrefix(last, archivePrefix)); err == nil && strings.HasPrefix(last, archivePrefix) {
		sent = n
	}
	for ctx.Err() == nil {
		lines, err := s.archivedLog(ctx, id)
		if err != nil {
			sse.event("error", "", api.Error{Error: "archived log unavailable, try again"})
			sse.flush()
			return
		}
		for i := sent; i < len(lines); i++ {
			sse.event("log", archivePrefix+strconv.Itoa(i+1), lines[i])
		}
		if len(lines) > sent {
			sent = len(lines)
		}
		d, err := s.deployment(ctx, id)
		if err == nil {
			sse.event("status", "", d)
			if api.Ended(d.State) {
				sse.event("end", "", api.LogEnd{Status: d.State})
				sse.flush()
				return
			}
		}
		sse.flush()
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		// Redis may be back with a live stream.
		if s.liveLogExists(ctx, id) {
			s.streamLive(ctx, sse, id, "")
			return
		}
	}
}

// archivedLog reads all archived log parts of a deployment, in order.
func (s *Server) archivedLog(ctx context.Context, id string) ([]livestatus.Line, error) {
	objs, err := s.store.List(ctx, storage.LogPrefix(id))
	if err != nil {
		return nil, err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	var lines []livestatus.Line
	for _, o := range objs {
		body, _, err := s.store.Get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l livestatus.Line
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				lines = append(lines, l)
			}
		}
		body.Close()
	}
	return lines, nil
}

type sseWriter struct {
	w gin.ResponseWriter
}

func (s *sseWriter) event(name, id string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	if id != "" {
		fmt.Fprintf(s.w, "id: %s\n", id)
	}
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data)
}

func (s *sseWriter) comment(text string) { fmt.Fprintf(s.w, ": %s\n\n", text) }

func (s *sseWriter) flush() { s.w.Flush() }
