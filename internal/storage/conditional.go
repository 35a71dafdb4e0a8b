package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Conditional writes: what makes a key a compare-and-swap register. versitygw (1.8+), AWS S3
// and Cloudflare R2 all honour If-None-Match and If-Match on PutObject; If-Match on
// DeleteObject is honoured by versitygw and S3, and ignored where unsupported (R2), which is
// why callers that need it check the object first (see internal/certstore's locks).

// ErrPrecondition is returned when a conditional write finds the object not as expected:
// present for PutIfAbsent, changed (or gone) for PutIfMatch and DeleteIfMatch.
var ErrPrecondition = errors.New("precondition failed: the object changed")

// PutIfAbsent writes data under key only if no object is there yet (If-None-Match: *), and
// returns the new object's ETag.
func (s *Store) PutIfAbsent(ctx context.Context, key string, data []byte, opts PutOptions) (string, error) {
	return s.putConditional(ctx, key, data, opts, nil, aws.String("*"))
}

// PutIfMatch replaces the object at key only if its ETag is still etag, and returns the new
// object's ETag.
func (s *Store) PutIfMatch(ctx context.Context, key string, data []byte, etag string, opts PutOptions) (string, error) {
	return s.putConditional(ctx, key, data, opts, aws.String(etag), nil)
}

func (s *Store) putConditional(ctx context.Context, key string, data []byte, opts PutOptions, ifMatch, ifNoneMatch *string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(key), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		if isPrecondition(err) || (ifMatch != nil && isNotFound(err)) {
			return "", fmt.Errorf("put %s: %w", key, ErrPrecondition)
		}
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// GetWithETag reads the whole object at key (at most limit bytes) and its ETag, for a later
// PutIfMatch. ErrNotFound when absent.
func (s *Store) GetWithETag(ctx context.Context, key string, limit int64) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("get %s: %w", key, ErrNotFound)
		}
		return nil, "", fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); limit > 0 && n > limit {
		return nil, "", fmt.Errorf("get %s: %d bytes is more than the %d allowed", key, n, limit)
	}
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", key, err)
	}
	return data, aws.ToString(out.ETag), nil
}

// DeleteIfMatch removes the object at key if its ETag is still etag (where the store honours
// the condition; see above). A missing object is not an error.
func (s *Store) DeleteIfMatch(ctx context.Context, key, etag string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(key), IfMatch: aws.String(etag)})
	switch {
	case err == nil, isNotFound(err):
		return nil
	case isPrecondition(err):
		return fmt.Errorf("delete %s: %w", key, ErrPrecondition)
	}
	return fmt.Errorf("delete %s: %w", key, err)
}

// Info is what Stat reports of an object.
type Info struct {
	Size         int64
	LastModified time.Time
	ETag         string
}

// Stat returns an object's size, time and ETag. ErrNotFound when absent.
func (s *Store) Stat(ctx context.Context, key string) (Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return Info{}, fmt.Errorf("head %s: %w", key, ErrNotFound)
		}
		return Info{}, fmt.Errorf("head %s: %w", key, err)
	}
	return Info{Size: aws.ToInt64(out.ContentLength), LastModified: aws.ToTime(out.LastModified), ETag: aws.ToString(out.ETag)}, nil
}

func isPrecondition(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict", "412":
			return true
		}
	}
	return false
}
