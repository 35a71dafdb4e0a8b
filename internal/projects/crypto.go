package projects

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// sealPrefix versions the sealed format: "v1:" + base64url(nonce || ciphertext || tag).
const sealPrefix = "v1:"

// ErrNoSecretKey is returned when environment variables are used without SKYDEPLOY_SECRET_KEY.
var ErrNoSecretKey = errors.New("project environment variables need SKYDEPLOY_SECRET_KEY (32+ characters) set on the gateway and the workers; `make dev` sets a development key")

// ErrTampered is returned when a sealed value does not authenticate: it was changed, moved to
// another project or variable, or sealed with another key.
var ErrTampered = errors.New("sealed value failed authentication (tampered, moved, or a different SKYDEPLOY_SECRET_KEY)")

// Sealer encrypts and decrypts environment values with AES-256-GCM.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the AES-256 key from secret with HKDF-SHA256. An empty secret gives a nil
// Sealer, whose methods return ErrNoSecretKey.
func NewSealer(secret string) (*Sealer, error) {
	if secret == "" {
		return nil, nil
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), []byte("skydeploy"), "skydeploy project env v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// aad binds a value to its project and variable name, so a sealed value copied elsewhere in
// the JSON does not decrypt.
func aad(project, key string) []byte { return []byte("skydeploy-env\x00" + project + "\x00" + key) }

// Seal encrypts a plain value of project's variable key.
func (s *Sealer) Seal(project, key, value string) (string, error) {
	if s == nil {
		return "", ErrNoSecretKey
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(value), aad(project, key))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed value of project's variable key.
func (s *Sealer) Open(project, key, sealed string) (string, error) {
	if s == nil {
		return "", ErrNoSecretKey
	}
	body, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", fmt.Errorf("sealed value of %s has an unknown format", key)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return "", ErrTampered
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], aad(project, key))
	if err != nil {
		return "", ErrTampered
	}
	return string(plain), nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:3])
}
