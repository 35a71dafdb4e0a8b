package servehandler

import (
	"strings"
	"testing"
)

func TestParseRedirects(t *testing.T) {
	data := []byte(`
# comment
/old            /new
/blog/*         /news/:splat        302
/users/:id      /u/:id/profile      308
/app/*          /index.html         200
/private/*      /denied.html        404
/forced         /new                301!
/gone           /gone.html          410
/ext            https://example.com/:splat 307
/geo            /fr                 302  Country=fr
/proxy/*        https://api.example.com/:splat 200
relative        /x
/bad-status     /x                  299
/only-one
/lang           /x                  302 Language=en
/q              /x  id=:id
/trail/         /t/  # trailing comment
`)
	rules, notes := parseRedirects(data)
	if len(rules) != 9 {
		t.Fatalf("%d rules: %+v", len(rules), rules)
	}
	if len(notes) != 7 {
		t.Errorf("%d notes: %q", len(notes), notes)
	}
	want := []struct {
		status int
		force  bool
	}{{301, false}, {302, false}, {308, false}, {200, false}, {404, false}, {301, true}, {410, false}, {307, false}, {301, false}}
	for i, w := range want {
		if rules[i].status != w.status || rules[i].force != w.force {
			t.Errorf("rule %d: %+v, want %+v", i, rules[i], w)
		}
	}
}

func TestRedirectMatch(t *testing.T) {
	rules, _ := parseRedirects([]byte(`
/blog/*          /news/:splat
/users/:id       /u/:id
/a/:x/b/:y       /c/:y/:x
/exact           /target
/*               /index.html   200
`))
	tests := []struct {
		path, want string
		rule       int
	}{
		{"/blog/2024/post", "/news/2024/post", 0},
		{"/blog/", "/news/", 0},
		{"/blog", "/news/", 0},
		{"/users/42", "/u/42", 1},
		{"/users/42/", "/u/42", 1},
		{"/a/1/b/2", "/c/2/1", 2},
		{"/exact", "/target", 3},
		{"/exact/", "/target", 3},
		{"/anything/else", "/index.html", 4},
		{"/", "/index.html", 4},
	}
	for _, tt := range tests {
		got, rule := "", -1
		for i := range rules {
			if to, ok := rules[i].match(tt.path); ok {
				got, rule = to, i
				break
			}
		}
		if got != tt.want || rule != tt.rule {
			t.Errorf("%s: rule %d -> %q, want rule %d -> %q", tt.path, rule, got, tt.rule, tt.want)
		}
	}
	// Non-matches.
	for _, p := range []string{"/users", "/users/1/2", "/blogs/x", "/exactly"} {
		if _, ok := rules[1].match(p); ok && strings.HasPrefix(p, "/users") {
			t.Errorf("users rule matched %s", p)
		}
		if _, ok := rules[3].match(p); ok {
			t.Errorf("exact rule matched %s", p)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	rules, notes := parseHeaders([]byte(`
# Netlify format
/*
  X-Frame-Options: DENY
  X-Custom: one

/assets/*
  Cache-Control: public, max-age=600
  X-Custom: two
/users/:id
  X-User: yes
  Content-Length: 5
  Set-Cookie: session=1; Domain=localhost
  Bad Header: x
/café/*
  X-Cafe: 1
`))
	if len(rules) != 4 {
		t.Fatalf("%d rules", len(rules))
	}
	if len(notes) != 3 || !strings.Contains(strings.Join(notes, "\n"), "Set-Cookie is not sent") {
		t.Errorf("notes %q", notes)
	}
	tests := []struct {
		path string
		want map[string]string
	}{
		{"/", map[string]string{"X-Frame-Options": "DENY", "X-Custom": "one"}},
		{"/assets/app.js", map[string]string{"X-Frame-Options": "DENY", "X-Custom": "one, two", "Cache-Control": "public, max-age=600"}},
		{"/users/7", map[string]string{"X-User": "yes"}},
		{"/users/7/x", map[string]string{"X-User": ""}},
		{"/café/menu", map[string]string{"X-Cafe": "1"}},
	}
	for _, tt := range tests {
		got := map[string]string{}
		for _, h := range siteHeaders(rules, tt.path) {
			got[h.key] = h.val[0]
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q (all %v)", tt.path, k, got[k], v, got)
			}
		}
		if _, ok := got["Content-Length"]; ok {
			t.Errorf("reserved header taken from _headers")
		}
		if _, ok := got["Set-Cookie"]; ok {
			t.Errorf("a cookie for the base domain taken from _headers")
		}
	}
}

func TestHeaderPatternIsLinear(t *testing.T) {
	rules, _ := parseHeaders([]byte("/*a*a*a*a*a*a*a*a*b\n  X: 1\n"))
	p := "/" + strings.Repeat("a", 1000)
	for range 100 {
		if len(siteHeaders(rules, p)) != 0 {
			t.Fatal("matched")
		}
	}
}

func TestRedirectsAndHeadersFiles(t *testing.T) {
	store := newFakeStore()
	store.publish(dep1, false, map[string]string{
		"index.html":      "home",
		"news/index.html": "news",
		"page.html":       "page",
		"u.html":          "user page",
		"shadowed.html":   "i am a file",
		"denied.html":     "denied",
		"404.html":        "site 404",
		"app/index.html":  "app shell",
		"_redirects": `
/blog/*        /news/:splat   302
/users/:id     /u?id=:id      301
/shadowed      /page          301
/forced        /page          308!
/page          /news/         301!
/app/*         /app/index.html 200
/secret/*      /denied.html   404
/missing-rw    /nope.html     200
/out           https://example.com/:splat 307
/*             /news/:splat   301
`,
		"_headers": `
/*
  X-Frame-Options: DENY
  Permissions-Policy: camera=()
/news/*
  Cache-Control: public, max-age=60
  X-Robots-Tag: noindex
`,
	})
	h := newTestHandler(t, store, Options{})
	host := dep1 + ".localhost"
	tests := []struct {
		target, location, body string
		status                 int
	}{
		{"/blog/2024/hello?x=1", "/news/2024/hello?x=1", "", 302},
		{"/users/7?ref=a", "/u?id=7", "", 301},
		{"/shadowed", "", "i am a file", 200},
		{"/forced", "/page", "", 308},
		{"/page", "/news/", "", 301},
		{"/app/settings/x", "", "app shell", 200},
		{"/secret/plans", "", "denied", 404},
		{"/missing-rw", "", "site 404", 404},
		{"/out", "https://example.com/", "", 307},
		{"/news/", "", "news", 200},
		{"/", "", "home", 200},
		{"/whatever/else", "/news/whatever/else", "", 301},
		{"/_redirects", "/news/_redirects", "", 301},
	}
	for _, tt := range tests {
		w := get(h, host, tt.target)
		if w.Code != tt.status || w.Header().Get("Location") != tt.location || !strings.Contains(w.Body.String(), tt.body) {
			t.Errorf("%s: %d Location %q body %q; want %d %q %q", tt.target, w.Code, w.Header().Get("Location"), w.Body.String(), tt.status, tt.location, tt.body)
		}
		if got := w.Header().Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want the site's DENY", tt.target, got)
		}
	}
	w := get(h, host, "/news/")
	if w.Header().Get("Cache-Control") != "public, max-age=60" || w.Header().Get("X-Robots-Tag") != "noindex" || w.Header().Get("Permissions-Policy") != "camera=()" {
		t.Errorf("_headers not applied: %v", w.Header())
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("baseline header lost: %v", w.Header())
	}
	// A rewrite's headers are those of the requested path, its content that of the target.
	w = get(h, host, "/app/x")
	if w.Header().Get("X-Robots-Tag") != "" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("rewrite headers: %v", w.Header())
	}
}
