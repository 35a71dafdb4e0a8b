package siteheaders

import "testing"

func TestCheck(t *testing.T) {
	file := "# comment\n/*\n  X-Frame-Options: DENY\n  set-cookie: session=1; Domain=example.com\n/app/*\n\tSet-Cookie2: x=1\n  Cache-Control: no-store\n"
	got := Check([]byte(file))
	if len(got) != 2 || got[0].Line != 4 || got[0].Header != "Set-Cookie" || got[1].Line != 6 || got[1].Header != "Set-Cookie2" {
		t.Fatalf("Check = %+v", got)
	}
	if msg := got[0].Error(); msg != "_headers line 4 sets Set-Cookie: "+forbidden["Set-Cookie"] {
		t.Errorf("message %q", msg)
	}
	if v := Check([]byte("/*\n  Cache-Control: max-age=60\n")); len(v) != 0 {
		t.Errorf("allowed headers refused: %+v", v)
	}
	for name, want := range map[string]bool{"SET-COOKIE": true, " set-cookie ": true, "X-Set-Cookie": false, "Cookie": false} {
		if got := Forbidden(name) != ""; got != want {
			t.Errorf("Forbidden(%q) = %v", name, got)
		}
	}
}
