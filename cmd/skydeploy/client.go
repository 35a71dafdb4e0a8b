package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/skydeploy/skydeploy/internal/apiclient"
	"github.com/skydeploy/skydeploy/internal/version"
)

// clientCommands are the command-line client's sub-commands. They talk to a gateway's API
// (SKYDEPLOY_API_URL, default http://localhost:3001) with a token from SKYDEPLOY_TOKEN or the
// file written by `skydeploy login` (~/.config/skydeploy/config.json).
var clientCommands = map[string]func(context.Context, []string) error{
	"deploy":   runDeploy,
	"ls":       runList,
	"logs":     runLogs,
	"cancel":   runCancel,
	"retry":    runRetry,
	"abandon":  runAbandon,
	"redeploy": runRedeploy,
	"rollback": runRollback,
	"projects": runProjects,
	"domains":  runDomains,
	"login":    runLogin,
}

// cliConfig is the client's configuration file.
type cliConfig struct {
	APIURL string `json:"apiUrl,omitempty"`
	Token  string `json:"token,omitempty"`
}

// cliConfigPath is $SKYDEPLOY_CONFIG, else $XDG_CONFIG_HOME/skydeploy/config.json, else
// ~/.config/skydeploy/config.json.
func cliConfigPath() (string, error) {
	if p := os.Getenv("SKYDEPLOY_CONFIG"); p != "" {
		return p, nil
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "skydeploy", "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home directory for the configuration file: %w", err)
	}
	return filepath.Join(home, ".config", "skydeploy", "config.json"), nil
}

func readCLIConfig() (cliConfig, string, error) {
	var cfg cliConfig
	path, err := cliConfigPath()
	if err != nil {
		return cfg, "", nil // no home: environment variables only
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return cfg, path, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, path, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, path, nil
}

// apiSettings returns the gateway URL and token: the environment wins over the file.
func apiSettings() (apiURL, token string, err error) {
	cfg, _, err := readCLIConfig()
	if err != nil {
		return "", "", err
	}
	apiURL, token = cfg.APIURL, cfg.Token
	if v := strings.TrimSpace(os.Getenv("SKYDEPLOY_API_URL")); v != "" {
		apiURL = v
	}
	if v := strings.TrimSpace(os.Getenv("SKYDEPLOY_TOKEN")); v != "" {
		token = v
	}
	if apiURL == "" {
		apiURL = apiclient.DefaultURL
	}
	return strings.TrimRight(apiURL, "/"), token, nil
}

func newAPIClient() (*apiclient.Client, error) {
	apiURL, token, err := apiSettings()
	if err != nil {
		return nil, err
	}
	c := apiclient.New(apiURL, token)
	c.UserAgent = "skydeploy-cli/" + version.Version
	return c, nil
}

// cliError turns API errors into messages that say what to do.
func cliError(c *apiclient.Client, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return exitError{code: 130}
	}
	var ue *apiclient.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach the gateway at %s (set SKYDEPLOY_API_URL or run skydeploy login --api URL): %v", ue.URL, ue.Err)
	}
	if apiclient.IsUnauthorized(err) {
		msg := "not logged in: set SKYDEPLOY_TOKEN or run skydeploy login"
		if c != nil && c.HasToken() {
			msg += " (the gateway at " + c.BaseURL() + " rejected the token: " + err.Error() + ")"
		}
		return errors.New(msg)
	}
	if apiclient.StatusCode(err) == 403 {
		return fmt.Errorf("not allowed: %v", err)
	}
	return err
}

// usageError reports a mistake on the command line and ends with exit code 2.
func usageError(msg string) error {
	fmt.Fprintln(os.Stderr, "skydeploy:", msg)
	return exitError{code: 2}
}

// parseArgs parses flags wherever they appear among the positional arguments
// (`skydeploy deploy URL --branch main`), returning the positional ones. "--" ends flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stderr)
				fs.Usage()
				return nil, exitError{code: 0}
			}
			return nil, usageError(fmt.Sprintf("%s: %v", fs.Name(), err))
		}
		rest := fs.Args()
		// flag.Parse consumed a "--" if the argument before rest was one.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagSet returns a FlagSet whose usage line is usage.
func flagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: skydeploy %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, n int, usage string) error {
	if len(pos) != n {
		return usageError("usage: skydeploy " + usage)
	}
	return nil
}

// clientArgs parses args, checks that exactly n positional arguments remain, and returns them
// with a client of the gateway: the start of most client commands.
func clientArgs(fs *flag.FlagSet, args []string, n int, usage string) ([]string, *apiclient.Client, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(pos, n, usage); err != nil {
		return nil, nil, err
	}
	c, err := newAPIClient()
	if err != nil {
		return nil, nil, err
	}
	return pos, c, nil
}

// isFlagSet reports whether the flag name was given on the command line.
func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
