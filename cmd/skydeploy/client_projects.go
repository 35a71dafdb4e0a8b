package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
)

const projectsUsage = `projects <command>
  projects ls [--json]
  projects show <name> [--json]
  projects create <name> --repo URL [--branch B] [--watch=true|false] [--interval 1m] [--previews]
                  [--root-dir D] [--install-command C] [--build-command C] [--output-dir D]
                  [--env KEY=VALUE]... [--plain-env KEY=VALUE]... [--env-target KEY=production|preview|all]...
  projects update <name> [the same flags as create] [--unset-env KEY]...
      --env is a secret (masked, production builds unless targeted), --plain-env a plain value
      (shown, every build unless targeted); on update, variables not named keep their values
  projects delete <name>
  projects deploy <name> [--no-follow]
  projects pause <name> | resume <name> | poll <name>`

// runProjects manages projects: watched repositories with a stable URL.
func runProjects(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("usage: skydeploy " + projectsUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "ls", "list":
		return projectsList(ctx, rest)
	case "show", "get":
		return projectsShow(ctx, rest)
	case "create":
		return projectsSave(ctx, rest, true)
	case "update", "set":
		return projectsSave(ctx, rest, false)
	case "delete", "rm":
		return projectsSimple(ctx, "delete", rest, func(c *apiclient.Client, name string) error {
			if err := c.DeleteProject(ctx, name); err != nil {
				return err
			}
			fmt.Printf("Deleted project %s (its deployments are being purged)\n", name)
			return nil
		})
	case "deploy":
		return projectsDeploy(ctx, rest)
	case "pause", "resume":
		return projectsSimple(ctx, sub, rest, func(c *apiclient.Client, name string) error {
			var p api.Project
			var err error
			if sub == "pause" {
				p, err = c.PauseProject(ctx, name)
			} else {
				p, err = c.ResumeProject(ctx, name)
			}
			if err != nil {
				return err
			}
			fmt.Printf("Project %s: watch %s\n", p.Name, watchText(p.Watch))
			return nil
		})
	case "poll":
		return projectsSimple(ctx, "poll", rest, func(c *apiclient.Client, name string) error {
			if err := c.PollProject(ctx, name); err != nil {
				return err
			}
			fmt.Printf("Checking %s for a new commit now (a new commit is deployed; see skydeploy ls --project %s)\n", name, name)
			return nil
		})
	case "help", "-h", "--help":
		fmt.Println("usage: skydeploy " + projectsUsage)
		return nil
	}
	return usageError(fmt.Sprintf("unknown projects command %q\nusage: skydeploy %s", sub, projectsUsage))
}

// projectsSimple runs fn for a command that takes only a project name.
func projectsSimple(ctx context.Context, sub string, args []string, fn func(*apiclient.Client, string) error) error {
	usage := "projects " + sub + " <name>"
	pos, c, err := clientArgs(flagSet("projects "+sub, usage), args, 1, usage)
	if err != nil {
		return err
	}
	return cliError(c, fn(c, pos[0]))
}

func projectsList(ctx context.Context, args []string) error {
	fs := flagSet("projects ls", "projects ls [--json]")
	asJSON := fs.Bool("json", false, "print the projects as JSON")
	_, c, err := clientArgs(fs, args, 0, "projects ls [--json]")
	if err != nil {
		return err
	}
	list, err := c.ListProjects(ctx)
	if err != nil {
		return cliError(c, err)
	}
	if *asJSON {
		return printJSON(list)
	}
	if len(list) == 0 {
		fmt.Println("No projects. Create one with: skydeploy projects create <name> --repo <url>")
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREPOSITORY\tBRANCH\tWATCH\tLIVE\tURL")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.RepoURL, p.ProductionBranch, watchText(p.Watch), dash(p.LiveDeploymentID), p.URL)
	}
	tw.Flush()
	return nil
}

func watchText(w api.Watch) string {
	switch {
	case !w.Enabled:
		return "off"
	case w.Paused:
		return "paused"
	default:
		s := "every " + w.Interval
		if w.Previews {
			s += " +previews"
		}
		return s
	}
}

func projectsShow(ctx context.Context, args []string) error {
	const usage = "projects show <name> [--json]"
	fs := flagSet("projects show", usage)
	asJSON := fs.Bool("json", false, "print the project as JSON")
	pos, c, err := clientArgs(fs, args, 1, usage)
	if err != nil {
		return err
	}
	p, err := c.GetProject(ctx, pos[0])
	if err != nil {
		return cliError(c, err)
	}
	if *asJSON {
		return printJSON(p)
	}
	printProject(p)
	deps, err := c.ListProjectDeployments(ctx, p.Name, apiclient.ListOptions{PageSize: 5})
	if err == nil && len(deps.Deployments) > 0 {
		fmt.Println("\nRecent deployments:")
		printDeployments(deps.Deployments)
	}
	return nil
}

func printProject(p api.Project) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("Name", p.Name)
	row("URL", p.URL)
	row("Repository", p.RepoURL)
	row("Branch", p.ProductionBranch)
	row("Live deployment", dash(p.LiveDeploymentID))
	row("Watch", watchText(p.Watch))
	row("Root dir", p.RootDir)
	row("Install command", p.InstallCommand)
	row("Build command", p.BuildCommand)
	row("Output dir", p.OutputDir)
	for _, e := range p.Env {
		row("Env "+e.Key, envText(e))
	}
	if !p.UpdatedAt.IsZero() {
		row("Updated", p.UpdatedAt.Local().Format(time.RFC3339))
	}
	tw.Flush()
}

// projectsSave creates or updates a project; only the flags given are sent.
func projectsSave(ctx context.Context, args []string, create bool) error {
	sub := "update"
	if create {
		sub = "create"
	}
	usage := "projects " + sub + " <name> --repo URL [--branch B] [--watch=true|false] [--interval 1m] [--previews] [--root-dir D] [--install-command C] [--build-command C] [--output-dir D] [--env KEY=VALUE]... [--plain-env KEY=VALUE]... [--env-target KEY=production|preview|all]..."
	if !create {
		usage += " [--unset-env KEY]..."
	}
	fs := flagSet("projects "+sub, usage)
	repo := fs.String("repo", "", "the repository URL (required to create)")
	branch := fs.String("branch", "", "the production branch (default main)")
	watch := fs.Bool("watch", true, "redeploy on new commits of the production branch")
	interval := fs.String("interval", "", "how often to check for new commits, e.g. 1m (default: the server's)")
	previews := fs.Bool("previews", false, "deploy pushes to other branches as previews (webhooks)")
	rootDir := fs.String("root-dir", "", "project directory inside the repository")
	installCmd := fs.String("install-command", "", "install command instead of the detected one")
	buildCmd := fs.String("build-command", "", "build command instead of the detected one")
	outputDir := fs.String("output-dir", "", "directory to publish, relative to the root dir")
	var env envChanges
	fs.Var(envValueFlag{c: &env, secret: true}, "env", "a secret environment variable for builds, KEY=VALUE (repeatable)")
	fs.Var(envValueFlag{c: &env}, "plain-env", "a plain (not secret) environment variable for builds, KEY=VALUE (repeatable)")
	fs.Var(envTargetFlag{c: &env}, "env-target", "which builds a variable applies to, KEY=production|preview|all (repeatable)")
	if !create {
		fs.Var(envUnsetFlag{c: &env}, "unset-env", "remove an environment variable, KEY (repeatable)")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, usage); err != nil {
		return err
	}
	if create && *repo == "" {
		return usageError("--repo is required\nusage: skydeploy " + usage)
	}
	in := api.ProjectInput{}
	if create {
		in.Name = apiclient.String(pos[0])
	}
	str := func(name string, v *string) *string {
		if isFlagSet(fs, name) {
			return apiclient.String(*v)
		}
		return nil
	}
	in.RepoURL = str("repo", repo)
	in.ProductionBranch = str("branch", branch)
	in.RootDir = str("root-dir", rootDir)
	in.InstallCommand = str("install-command", installCmd)
	in.BuildCommand = str("build-command", buildCmd)
	in.OutputDir = str("output-dir", outputDir)
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	if !env.empty() {
		var current []api.EnvVar
		if !create {
			p, err := c.GetProject(ctx, pos[0])
			if err != nil {
				return cliError(c, err)
			}
			current = p.Env
		}
		e, err := env.apply(current)
		if err != nil {
			return usageError(err.Error())
		}
		in.Env = &e
	}
	var w api.WatchInput
	set := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "watch":
			w.Enabled, set = apiclient.Bool(*watch), true
		case "interval":
			w.Interval, set = apiclient.String(*interval), true
		case "previews":
			w.Previews, set = apiclient.Bool(*previews), true
		}
	})
	if set {
		in.Watch = &w
	}
	var p api.Project
	if create {
		p, err = c.CreateProject(ctx, in)
	} else {
		p, err = c.UpdateProject(ctx, pos[0], in)
	}
	if err != nil {
		return cliError(c, err)
	}
	if create {
		fmt.Printf("Created project %s\n", p.Name)
	} else {
		fmt.Printf("Updated project %s\n", p.Name)
	}
	printProject(p)
	if create {
		fmt.Printf("\nDeploy it now with: skydeploy projects deploy %s\n", p.Name)
	}
	return nil
}

func projectsDeploy(ctx context.Context, args []string) error {
	const usage = "projects deploy <name> [--no-follow]"
	fs := flagSet("projects deploy", usage)
	noFollow := fs.Bool("no-follow", false, "print the deployment and exit without following it")
	pos, c, err := clientArgs(fs, args, 1, usage)
	if err != nil {
		return err
	}
	fmt.Printf("Deploying project %s\n", pos[0])
	started, err := c.DeployProject(ctx, pos[0])
	if err != nil {
		return cliError(c, err)
	}
	return followStarted(ctx, c, started, *noFollow)
}

// runRollback makes an earlier successful deployment of a project live again.
func runRollback(ctx context.Context, args []string) error {
	const usage = "rollback <project> <deployment-id>"
	pos, c, err := clientArgs(flagSet("rollback", usage), args, 2, usage)
	if err != nil {
		return err
	}
	p, err := c.Rollback(ctx, pos[0], pos[1])
	if err != nil {
		return cliError(c, err)
	}
	fmt.Printf("%s now serves deployment %s at %s\n", p.Name, pos[1], p.URL)
	return nil
}
