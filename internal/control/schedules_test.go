package control

import (
	"fmt"
	"testing"
	"time"
)

func TestPollPhase(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{
		{"site", time.Minute},
		{"site", 5 * time.Minute},
		{"a-much-longer-project-name", time.Hour},
		{"site", 1500 * time.Millisecond},
	} {
		got := PollPhase(tc.name, tc.every)
		if got < 0 || got >= tc.every || got%time.Second != 0 {
			t.Errorf("PollPhase(%q, %s) = %s, want whole seconds in [0, %s)", tc.name, tc.every, got, tc.every)
		}
		if again := PollPhase(tc.name, tc.every); again != got {
			t.Errorf("PollPhase(%q, %s) not stable: %s then %s", tc.name, tc.every, got, again)
		}
	}
	for _, every := range []time.Duration{0, time.Second, 500 * time.Millisecond} {
		if got := PollPhase("site", every); got != 0 {
			t.Errorf("PollPhase(site, %s) = %s, want 0", every, got)
		}
	}
	// A thousand projects polled every minute spread over the minute: no second holds more than
	// three times its share, none is left empty.
	perSecond := make([]int, 60)
	for i := 0; i < 1000; i++ {
		perSecond[PollPhase(fmt.Sprintf("p%04d", i), time.Minute)/time.Second]++
	}
	for s, n := range perSecond {
		if n == 0 || n > 3*1000/60 {
			t.Errorf("second %d holds %d of 1,000 projects' polls: %v", s, n, perSecond)
			break
		}
	}
}
