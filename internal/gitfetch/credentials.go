package gitfetch

import (
	"net/http"
	"net/url"
	"strings"
)

// GitHubHost is the host whose git service the GitHub token is sent to.
const GitHubHost = "github.com"

// gitHubTokenUser is the user name GitHub expects with a token in HTTP basic auth.
const gitHubTokenUser = "x-access-token"

// Credentials map a host key ("github.com", or "git.example.com:8443" for a port that is not
// the scheme's default) to the "user:password" sent to that host as HTTP basic auth, and to
// no other host. A request goes out with the credential of its own URL's host or with none,
// so a redirect to another host never carries one.
type Credentials map[string]string

// HostCredentials returns what a clone may send: the GitHub token to github.com and to the
// host of the GitHub API URL (GitHub Enterprise serves git there), and each operator-configured
// entry of perHost ("host" or "host:port" -> "user:token") to its host; an entry for a GitHub
// host replaces the token there. Every other host gets nothing.
func HostCredentials(githubToken, githubAPIURL string, perHost map[string]string) Credentials {
	c := Credentials{}
	if githubToken != "" {
		c[GitHubHost] = gitHubTokenUser + ":" + githubToken
		if u, err := url.Parse(githubAPIURL); err == nil && u.Host != "" {
			c[hostKey(u)] = gitHubTokenUser + ":" + githubToken
		}
	}
	for host, cred := range perHost {
		c[strings.ToLower(host)] = cred
	}
	return c
}

// For returns the credential for u's host, if one is configured.
func (c Credentials) For(u *url.URL) (user, password string, ok bool) {
	if len(c) == 0 || u == nil {
		return "", "", false
	}
	cred, found := c[hostKey(u)]
	if !found {
		return "", "", false
	}
	user, password, ok = strings.Cut(cred, ":")
	return user, password, ok && user != ""
}

// apply sets the request's Authorization from its own URL's host, and removes any other.
func (c Credentials) apply(req *http.Request) {
	req.Header.Del("Authorization")
	if user, password, ok := c.For(req.URL); ok {
		req.SetBasicAuth(user, password)
	}
}

// hostKey is u's host name in lower case, with the port only when it is not the scheme's default.
func hostKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return host
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}
