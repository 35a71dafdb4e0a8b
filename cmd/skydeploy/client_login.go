package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skydeploy/skydeploy/internal/apiclient"
)

const loginUsage = "login [--api URL] [--token TOKEN]   (without --token, the token is read from standard input)"

// runLogin checks a token against a gateway and saves both in the configuration file
// (mode 0600), for the client commands to use when SKYDEPLOY_API_URL/SKYDEPLOY_TOKEN are unset.
func runLogin(ctx context.Context, args []string) error {
	fs := flagSet("login", loginUsage)
	api := fs.String("api", "", "the gateway's URL (default: $SKYDEPLOY_API_URL, the saved one, or "+apiclient.DefaultURL+")")
	token := fs.String("token", "", "an API token (create one on the server with `skydeploy token create`)")
	noVerify := fs.Bool("no-verify", false, "save without checking the token against the gateway")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, loginUsage); err != nil {
		return err
	}
	apiURL := strings.TrimRight(strings.TrimSpace(*api), "/")
	if apiURL == "" {
		apiURL, _, _ = apiSettings()
	}
	if !strings.HasPrefix(apiURL, "http://") && !strings.HasPrefix(apiURL, "https://") {
		return usageError("--api must be an http:// or https:// URL")
	}
	tok := strings.TrimSpace(*token)
	if tok == "" {
		fmt.Fprint(os.Stderr, "API token: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no token given: use --token or type it on standard input")
		}
		tok = strings.TrimSpace(line)
	}
	if tok == "" {
		return errors.New("no token given: use --token or type it on standard input")
	}
	if !*noVerify {
		c := apiclient.New(apiURL, tok)
		if _, err := c.ListDeployments(ctx, apiclient.ListOptions{PageSize: 1}); err != nil {
			if apiclient.IsUnauthorized(err) {
				return fmt.Errorf("the gateway at %s rejected the token: %v", apiURL, err)
			}
			return cliError(c, err)
		}
	}
	cfg, path, err := readCLIConfig()
	if err != nil {
		cfg = cliConfig{} // an unreadable file is replaced
	}
	if path == "" {
		return errors.New("cannot find the home directory: set SKYDEPLOY_API_URL and SKYDEPLOY_TOKEN instead")
	}
	cfg.APIURL, cfg.Token = apiURL, tok
	if err := writeCLIConfig(path, cfg); err != nil {
		return err
	}
	fmt.Printf("Logged in to %s (saved in %s)\n", apiURL, path)
	return nil
}

// writeCLIConfig writes the configuration file readable by its owner only.
func writeCLIConfig(path string, cfg cliConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
