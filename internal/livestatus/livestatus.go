// Package livestatus keeps what the dashboard shows live — the current status of each
// deployment and its log stream — in Redis, and nothing else. Every key expires; losing Redis
// loses no deployment, only the live view, which falls back to Temporal and object storage.
//
// It must never depend on Temporal, object storage or any role package; of SkyDeploy it knows
// only internal/api (a log line is the API's LogLine).
package livestatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skydeploy/skydeploy/internal/api"
)

// Line is one line of a deployment's log; its ID is the Redis stream id, set when the line is
// read back (SSE uses it as the event id). The API sends it as it is.
type Line = api.LogLine

// Status is the live state of a deployment as the dashboard sees it.
type Status struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Step      string    `json:"step,omitempty"`
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Store reads and writes live status in Redis under a key prefix.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	ttl      time.Duration
	maxLines int64
	// downUntil (unix nanoseconds) makes writes fail fast for a while after Redis failed, so a
	// Redis outage does not slow every deployment step by a connection timeout per write.
	downUntil atomic.Int64
}

// ErrUnavailable is returned without contacting Redis shortly after it failed.
var ErrUnavailable = errors.New("live status store unavailable (Redis failed recently)")

// backoff is how long writes fail fast after a Redis failure.
const backoff = 5 * time.Second

func (s *Store) available() error {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return ErrUnavailable
	}
	return nil
}

func (s *Store) noteResult(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		s.downUntil.Store(time.Now().Add(backoff).UnixNano())
	}
}

// New returns a Store. prefix separates SkyDeploy's keys from other data in the same Redis.
func New(rdb redis.UniversalClient, prefix string, ttl time.Duration, maxLines int64) *Store {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if maxLines <= 0 {
		maxLines = 100_000
	}
	return &Store{rdb: rdb, prefix: prefix, ttl: ttl, maxLines: maxLines}
}

// Open returns a Store on the Redis at url (redis://[:password@]host:port/db) with short
// timeouts and one retry. Connecting is lazy: a Redis that is down only degrades the live view.
func Open(url, prefix string, ttl time.Duration, maxLines int64) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 3 * time.Second
	opts.WriteTimeout = 3 * time.Second
	opts.MaxRetries = 1
	return New(redis.NewClient(opts), prefix, ttl, maxLines), nil
}

// Client is the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

func (s *Store) statusKey(id string) string { return s.prefix + "deploy:" + id + ":status" }
func (s *Store) logKey(id string) string    { return s.prefix + "deploy:" + id + ":log" }

// EventsChannel carries a message each time a deployment's status changes.
func (s *Store) EventsChannel() string { return s.prefix + "events" }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

// SetStatus records a deployment's live status and announces the change.
func (s *Store) SetStatus(ctx context.Context, st Status) error {
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	if err := s.available(); err != nil {
		return err
	}
	pipe := s.rdb.TxPipeline()
	pipe.Set(ctx, s.statusKey(st.ID), data, s.ttl)
	pipe.Publish(ctx, s.EventsChannel(), data)
	_, err = pipe.Exec(ctx)
	s.noteResult(err)
	if err != nil {
		return fmt.Errorf("set live status of %s: %w", st.ID, err)
	}
	return nil
}

// FirstTime reports whether this is the first call for (id, mark) within the live TTL: the
// one writer that gets true does a thing once (a log line per run, say).
func (s *Store) FirstTime(ctx context.Context, id, mark string) (bool, error) {
	if err := s.available(); err != nil {
		return false, err
	}
	ok, err := s.rdb.SetNX(ctx, s.prefix+"deploy:"+id+":once:"+mark, 1, s.ttl).Result()
	s.noteResult(err)
	if err != nil {
		return false, fmt.Errorf("mark %s of %s: %w", mark, id, err)
	}
	return ok, nil
}

// GetStatus returns a deployment's live status; ok is false when Redis has none.
func (s *Store) GetStatus(ctx context.Context, id string) (Status, bool, error) {
	data, err := s.rdb.Get(ctx, s.statusKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Status{}, false, nil
	}
	if err != nil {
		return Status{}, false, fmt.Errorf("get live status of %s: %w", id, err)
	}
	var st Status
	if err := json.Unmarshal(data, &st); err != nil {
		return Status{}, false, fmt.Errorf("decode live status of %s: %w", id, err)
	}
	return st, true, nil
}

// AppendLog adds lines to a deployment's log stream, capped at the configured number of lines
// and expiring with the status.
func (s *Store) AppendLog(ctx context.Context, id string, lines []Line) error {
	if len(lines) == 0 {
		return nil
	}
	if err := s.available(); err != nil {
		return err
	}
	key := s.logKey(id)
	pipe := s.rdb.Pipeline()
	for _, l := range lines {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: key,
			MaxLen: s.maxLines,
			Approx: true,
			Values: map[string]any{"step": l.Step, "stream": l.Stream, "line": l.Text, "ts": l.Time.UnixMilli()},
		})
	}
	pipe.Expire(ctx, key, s.ttl)
	_, err := pipe.Exec(ctx)
	s.noteResult(err)
	if err != nil {
		return fmt.Errorf("append log of %s: %w", id, err)
	}
	return nil
}

// ReadLog returns up to count lines after the stream id after ("0" or "" for the beginning),
// waiting up to block for new ones when there are none (0 = do not wait).
func (s *Store) ReadLog(ctx context.Context, id, after string, count int64, block time.Duration) ([]Line, error) {
	if after == "" {
		after = "0"
	}
	key := s.logKey(id)
	if block <= 0 {
		msgs, err := s.rdb.XRangeN(ctx, key, "("+after, "+", count).Result()
		if after == "0" {
			msgs, err = s.rdb.XRangeN(ctx, key, "-", "+", count).Result()
		}
		if err != nil {
			return nil, fmt.Errorf("read log of %s: %w", id, err)
		}
		return toLines(msgs), nil
	}
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{key, after}, Count: count, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log of %s: %w", id, err)
	}
	var lines []Line
	for _, st := range res {
		lines = append(lines, toLines(st.Messages)...)
	}
	return lines, nil
}

// LogExists reports whether a live log stream exists for the deployment.
func (s *Store) LogExists(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.logKey(id)).Result()
	if err != nil {
		return false, fmt.Errorf("check log of %s: %w", id, err)
	}
	return n > 0, nil
}

func toLines(msgs []redis.XMessage) []Line {
	lines := make([]Line, 0, len(msgs))
	for _, m := range msgs {
		l := Line{ID: m.ID}
		l.Step, _ = m.Values["step"].(string)
		l.Stream, _ = m.Values["stream"].(string)
		l.Text, _ = m.Values["line"].(string)
		if ts, ok := m.Values["ts"].(string); ok {
			if ms, err := strconv.ParseInt(ts, 10, 64); err == nil {
				l.Time = time.UnixMilli(ms).UTC()
			}
		}
		lines = append(lines, l)
	}
	return lines
}
