package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
)

const deployUsage = "deploy [DIR] [--prebuilt] [--project P] [--prod] [--root-dir D] [--install-command C] [--build-command C] [--output-dir D] [--no-follow]\n" +
	"       skydeploy deploy <repo-url> [--branch B] [--root-dir D] [--install-command C] [--build-command C] [--output-dir D] [--no-follow]"

// runDeploy deploys a folder (DIR, default ".": uploaded, see client_upload.go) or a
// repository URL, and follows the deployment: steps as they end, the build log, then the URL.
// Exit codes: 0 deployed, 1 failed, 2 usage, 130 interrupted (the deployment continues).
func runDeploy(ctx context.Context, args []string) error {
	fs := flagSet("deploy", deployUsage)
	branch := fs.String("branch", "", "branch of the repository to deploy (default: its default branch)")
	project := fs.String("project", "", "the project the deployment belongs to")
	prod := fs.Bool("prod", false, "with --project: a production deployment of a folder, live at the project's URL (default: a preview)")
	prebuilt := fs.Bool("prebuilt", false, "publish the folder as it is, without detection or build (e.g. a dist/ built in CI)")
	rootDir := fs.String("root-dir", "", "project directory inside the repository or folder")
	installCmd := fs.String("install-command", "", "install command instead of the detected one")
	buildCmd := fs.String("build-command", "", "build command instead of the detected one")
	outputDir := fs.String("output-dir", "", "directory to publish, relative to the root dir")
	noFollow := fs.Bool("no-follow", false, "print the deployment id and URL and exit without following it")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError("usage: skydeploy " + deployUsage)
	}
	if len(pos) == 0 || !isRepositoryURL(pos[0]) {
		dir := "."
		if len(pos) == 1 {
			dir = pos[0]
		}
		if *branch != "" {
			return usageError("--branch is for repository URLs: a folder deploys the files it holds (its git branch is recorded)")
		}
		return runDeployFolder(ctx, folderDeploy{
			dir: dir, noFollow: *noFollow,
			req: api.UploadDeployRequest{Project: *project, Production: *prod, Prebuilt: *prebuilt, RootDir: *rootDir,
				InstallCommand: *installCmd, BuildCommand: *buildCmd, OutputDir: *outputDir},
		})
	}
	if *prod || *prebuilt {
		return usageError("--prod and --prebuilt are for folders; a repository URL deploys its branch")
	}
	if *project != "" {
		return usageError("to deploy a project's repository run skydeploy projects deploy " + *project + "; --project with a folder attaches the folder to it")
	}
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	what := pos[0]
	if *branch != "" {
		what += " (" + *branch + ")"
	}
	fmt.Printf("Deploying %s\n", what)
	started, err := c.CreateDeployment(ctx, api.DeploymentRequest{
		RepoURL: pos[0], Branch: *branch, RootDir: *rootDir, InstallCommand: *installCmd,
		BuildCommand: *buildCmd, OutputDir: *outputDir,
	})
	if err != nil {
		return cliError(c, err)
	}
	return followStarted(ctx, c, started, *noFollow)
}

// followStarted prints a started deployment and, unless noFollow, follows it to its end.
func followStarted(ctx context.Context, c *apiclient.Client, started api.StartedDeployment, noFollow bool) error {
	fmt.Printf("Deployment %s started\n", started.ID)
	if noFollow {
		fmt.Printf("  follow it:  skydeploy logs -f %s\n  URL (once live): %s\n", started.ID, started.URL)
		return nil
	}
	d, err := follow(ctx, c, started.ID, os.Stdout, true)
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			fmt.Fprintf(os.Stderr, "\nStopped following; deployment %s goes on (skydeploy logs -f %s follows it again, skydeploy cancel %s stops it).\n", started.ID, started.ID, started.ID)
			return exitError{code: 130}
		}
		return cliError(c, err)
	}
	return reportEnd(d)
}

// reportEnd prints the outcome of an ended deployment; an error (exit 1) unless it succeeded.
func reportEnd(d api.Deployment) error {
	switch d.State {
	case api.StateSucceeded:
		fmt.Printf("\n✓ Deployed %s\n  %s\n", d.ID, d.URL)
		return nil
	case api.StateCanceled:
		return fmt.Errorf("deployment %s was canceled", d.ID)
	default:
		msg := d.Error
		if msg == "" {
			msg = "deployment " + d.State
		}
		if d.Step != "" {
			return fmt.Errorf("deployment %s failed at %s: %s", d.ID, d.Step, msg)
		}
		return fmt.Errorf("deployment %s failed: %s", d.ID, msg)
	}
}

// stepPrinter prints each step once, when it has ended, from successive statuses.
type stepPrinter struct {
	w    io.Writer
	seen map[string]string // step name → last printed state
}

func (p *stepPrinter) update(d api.Deployment) {
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	for _, s := range d.Steps {
		prev := p.seen[s.Name]
		if prev == s.State {
			continue
		}
		switch s.State {
		case api.StepSucceeded:
			fmt.Fprintf(p.w, "✓ %s %s\n", s.Name, fmtDuration(s.Duration(time.Now())))
		case api.StepFailed:
			fmt.Fprintf(p.w, "✗ %s %s\n", s.Name, fmtDuration(s.Duration(time.Now())))
		case api.StepCanceled:
			fmt.Fprintf(p.w, "✗ %s canceled\n", s.Name)
		case api.StepSkipped:
			fmt.Fprintf(p.w, "- %s skipped\n", s.Name)
		default:
			continue
		}
		p.seen[s.Name] = s.State
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0.0s"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// follow streams a deployment's log to w until it ends (steps too when steps is set),
// reconnecting where it left off when the stream breaks, and returns its final status.
func follow(ctx context.Context, c *apiclient.Client, id string, w io.Writer, steps bool) (api.Deployment, error) {
	sp := &stepPrinter{w: w}
	last, logStep := "", ""
	failures := 0
	for {
		err := c.StreamLogs(ctx, id, last, func(ev apiclient.Event) error {
			if ev.ID != "" {
				last = ev.ID
			}
			switch ev.Name {
			case "log":
				l, ok := ev.Log()
				if !ok {
					break
				}
				// The first line of a new step: show how the steps before it ended.
				if steps && l.Step != logStep && logStep != "" {
					if d, err := c.GetDeployment(ctx, id); err == nil {
						sp.update(d)
					}
				}
				logStep = l.Step
				printLine(w, l)
			case "status":
				if d, ok := ev.Status(); ok && steps {
					sp.update(d)
				}
			case "error":
				fmt.Fprintf(os.Stderr, "skydeploy: log stream: %s\n", ev.ErrorMessage())
			}
			failures = 0
			return nil
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return api.Deployment{}, ctx.Err()
		}
		var apiErr *apiclient.Error
		if !errors.Is(err, apiclient.ErrStreamEnded) && errors.As(err, &apiErr) && apiErr.StatusCode < 500 {
			return api.Deployment{}, err
		}
		failures++
		if failures > 5 {
			return api.Deployment{}, err
		}
		select {
		case <-ctx.Done():
			return api.Deployment{}, ctx.Err()
		case <-time.After(time.Duration(failures) * time.Second):
		}
	}
	// The stream ended: the final status has the last steps, the error and the URL.
	var d api.Deployment
	var err error
	for i := 0; i < 10; i++ {
		if d, err = c.GetDeployment(ctx, id); err == nil && api.Ended(d.State) {
			break
		}
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		return d, err
	}
	if steps {
		sp.update(d)
	}
	return d, nil
}

// printLine writes one log line: "  [step] text" (stderr lines marked with "!").
func printLine(w io.Writer, l api.LogLine) {
	mark := " "
	if l.Stream == "stderr" {
		mark = "!"
	}
	fmt.Fprintf(w, " %s[%s] %s\n", mark, l.Step, strings.TrimRight(l.Text, "\r\n"))
}

const logsUsage = "logs [-f] <deployment-id>"

// runLogs prints a deployment's log: what there is so far, or with -f until it ends.
func runLogs(ctx context.Context, args []string) error {
	fs := flagSet("logs", logsUsage)
	followFlag := fs.Bool("f", false, "follow the log until the deployment ends")
	fs.BoolVar(followFlag, "follow", false, "same as -f")
	pos, c, err := clientArgs(fs, args, 1, logsUsage)
	if err != nil {
		return err
	}
	id := pos[0]
	if *followFlag {
		d, err := follow(ctx, c, id, os.Stdout, false)
		if err != nil {
			if ctx.Err() != nil {
				return exitError{code: 130}
			}
			return cliError(c, err)
		}
		if d.State == api.StateSucceeded {
			fmt.Printf("\n✓ %s succeeded: %s\n", d.ID, d.URL)
			return nil
		}
		return reportEnd(d)
	}
	// Without -f: the lines there are now. The stream sends a status event once it has
	// caught up with the log (and an end event for a deployment that has ended).
	err = c.StreamLogs(ctx, id, "", func(ev apiclient.Event) error {
		switch ev.Name {
		case "log":
			if l, ok := ev.Log(); ok {
				printLine(os.Stdout, l)
			}
		case "status":
			return apiclient.ErrStop
		case "error":
			return errors.New(ev.ErrorMessage())
		}
		return nil
	})
	if err != nil && ctx.Err() != nil {
		return exitError{code: 130}
	}
	return cliError(c, err)
}

// runCancel asks a running deployment to stop.
func runCancel(ctx context.Context, args []string) error {
	fs := flagSet("cancel", "cancel <deployment-id>")
	pos, c, err := clientArgs(fs, args, 1, "cancel <deployment-id>")
	if err != nil {
		return err
	}
	if err := c.CancelDeployment(ctx, pos[0]); err != nil {
		return cliError(c, err)
	}
	fmt.Printf("Cancellation of %s requested\n", pos[0])
	return nil
}

// runRetry runs the failed step of a deployment that needs attention again.
func runRetry(ctx context.Context, args []string) error {
	const usage = "retry <deployment-id>"
	pos, c, err := clientArgs(flagSet("retry", usage), args, 1, usage)
	if err != nil {
		return err
	}
	if _, err := c.RetryDeployment(ctx, pos[0]); err != nil {
		return cliError(c, err)
	}
	fmt.Printf("Deployment %s runs its failed step again (skydeploy logs -f %s follows it)\n", pos[0], pos[0])
	return nil
}

// runAbandon fails a deployment that needs attention.
func runAbandon(ctx context.Context, args []string) error {
	const usage = "abandon <deployment-id> [--reason R]"
	fs := flagSet("abandon", usage)
	reason := fs.String("reason", "", "why, shown in the deployment's error")
	pos, c, err := clientArgs(fs, args, 1, usage)
	if err != nil {
		return err
	}
	if _, err := c.AbandonDeployment(ctx, pos[0], *reason); err != nil {
		return cliError(c, err)
	}
	fmt.Printf("Deployment %s abandoned\n", pos[0])
	return nil
}

// runRedeploy deploys a deployment's repository, branch and settings again, and follows it.
func runRedeploy(ctx context.Context, args []string) error {
	const usage = "redeploy <deployment-id> [--no-follow]"
	fs := flagSet("redeploy", usage)
	noFollow := fs.Bool("no-follow", false, "print the new deployment and exit without following it")
	pos, c, err := clientArgs(fs, args, 1, usage)
	if err != nil {
		return err
	}
	started, err := c.Redeploy(ctx, pos[0])
	if err != nil {
		return cliError(c, err)
	}
	fmt.Printf("Redeploying %s\n", pos[0])
	return followStarted(ctx, c, started, *noFollow)
}
