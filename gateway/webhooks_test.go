package gateway

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	body := `{"zen":"Keep it logically awesome."}`
	good := "sha256=" + sign("s3cret", body)
	sha1mac := hmac.New(sha1.New, []byte("s3cret"))
	sha1mac.Write([]byte(body))
	cases := []struct {
		name, secret, header, body string
		want                       bool
	}{
		{"good", "s3cret", good, body, true},
		{"bad signature", "s3cret", "sha256=" + sign("other", body), body, false},
		{"body changed", "s3cret", good, body + " ", false},
		{"missing", "s3cret", "", body, false},
		{"no prefix", "s3cret", sign("s3cret", body), body, false},
		{"wrong algorithm prefix", "s3cret", "sha1=" + sign("s3cret", body), body, false},
		{"sha1 signature", "s3cret", "sha1=" + hex.EncodeToString(sha1mac.Sum(nil)), body, false},
		{"not hex", "s3cret", "sha256=zz", body, false},
		{"truncated", "s3cret", good[:len(good)-2], body, false},
		{"no secret configured", "", "sha256=" + sign("", body), body, false},
	}
	for _, c := range cases {
		if got := VerifySignature(c.secret, []byte(c.body), c.header); got != c.want {
			t.Errorf("%s: VerifySignature = %v, want %v", c.name, got, c.want)
		}
	}
}
