// Package poll benchmarks repository polling as SkyDeploy runs it: N watched projects, created
// through the gateway's API so that each gets its real `poll-<project>` Temporal Schedule, polled
// every minute by the real PollRepository workflow and CheckBranchHead activity (on the
// rate-limited poll task queue) against a fake GitHub (fakegithub) on the Temporal dev server,
// while commits land on some repositories each minute. The deployments the poll workflows start
// are real workflow executions, parked on a task queue no worker serves so that the figures
// are those of polling alone.
//
// It prints polls made against polls due, the lag from a poll's scheduled time to its start and
// its end (p50, p99, max), deployments started by the workflows against new commits, the
// GitHub request budget used, the Temporal server's CPU (from /proc) and database growth, and
// history events per poll (from Temporal's visibility API). Run it with ./run.sh.
//
// It must never reimplement what it measures: schedules come from the gateway, polls from the
// workers package.
package poll
