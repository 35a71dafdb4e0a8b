package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
)

const listUsage = "ls [--project P] [--status running|succeeded|failed|canceled] [--limit N] [--json]"

// runList prints deployments, newest first: id, status, project, framework, commit, age, URL.
func runList(ctx context.Context, args []string) error {
	fs := flagSet("ls", listUsage)
	project := fs.String("project", "", "only this project's deployments")
	status := fs.String("status", "", "only deployments in this state: running, succeeded, failed or canceled")
	limit := fs.Int("limit", 20, "how many deployments to show")
	asJSON := fs.Bool("json", false, "print the deployments as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, listUsage); err != nil {
		return err
	}
	if *limit < 1 {
		return usageError("--limit must be at least 1")
	}
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	var deps []api.Deployment
	opts := apiclient.ListOptions{Project: *project, Status: *status}
	for len(deps) < *limit {
		opts.PageSize = min(*limit-len(deps), 100)
		page, err := c.ListDeployments(ctx, opts)
		if err != nil {
			return cliError(c, err)
		}
		deps = append(deps, page.Deployments...)
		if page.NextPageToken == "" || len(page.Deployments) == 0 {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if len(deps) > *limit {
		deps = deps[:*limit]
	}
	if *asJSON {
		return printJSON(deps)
	}
	if len(deps) == 0 {
		fmt.Println("No deployments.")
		return nil
	}
	printDeployments(deps)
	return nil
}

func printDeployments(deps []api.Deployment) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPROJECT\tFRAMEWORK\tCOMMIT\tAGE\tURL")
	now := time.Now()
	for _, d := range deps {
		status := d.State
		if d.Live {
			status += " (live)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, status, dash(d.Project), dash(framework(d)),
			dash(shortCommit(d)), age(now, d.CreatedAt), d.URL)
	}
	tw.Flush()
}

func framework(d api.Deployment) string {
	if d.Plan == nil {
		return ""
	}
	if d.Plan.Framework != "" {
		return d.Plan.Framework
	}
	return string(d.Plan.Kind)
}

func shortCommit(d api.Deployment) string {
	if d.Commit == nil || d.Commit.SHA == "" {
		return ""
	}
	sha := d.Commit.SHA
	if len(sha) > 7 {
		sha = sha[:7]
	}
	msg := strings.SplitN(strings.TrimSpace(d.Commit.Message), "\n", 2)[0]
	if len([]rune(msg)) > 40 {
		msg = string([]rune(msg)[:39]) + "…"
	}
	if msg == "" {
		return sha
	}
	return sha + " " + msg
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// age is a short "how long ago": 12s, 5m, 3h, 2d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
