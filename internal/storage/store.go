// Package storage is SkyDeploy's access to S3-compatible object storage (Cloudflare R2 in
// production, versitygw locally): a small Store over aws-sdk-go-v2's S3 client and the key
// layout every role agrees on (keys.go).
//
// It must never depend on Temporal, Redis or any role package.
package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNotFound is returned when an object does not exist.
var ErrNotFound = errors.New("object not found")

// Options configure a Store.
type Options struct {
	Endpoint  string // e.g. http://127.0.0.1:7070 or https://<account>.r2.cloudflarestorage.com
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	PathStyle bool
	// HTTPClient, when set, is used for every request (tests inject faults through it).
	HTTPClient *http.Client
}

// Store reads and writes objects in one bucket.
type Store struct {
	client *s3.Client
	bucket string
}

// New returns a Store for the bucket in opts. It does not contact the server.
func New(opts Options) *Store {
	region := opts.Region
	if region == "" {
		region = "auto"
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(opts.AccessKey, opts.SecretKey, ""),
		// Retries are Temporal's job for activities; the serve path wants fast failure.
		RetryMaxAttempts: 2,
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		// versitygw and R2 both accept checksums only when asked; keep requests plain.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{client: client, bucket: opts.Bucket}
}

// Bucket is the bucket this Store uses.
func (s *Store) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket if it does not exist yet.
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if err == nil {
		return nil
	}
	_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	if err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if errors.As(err, &owned) || errors.As(err, &exists) {
			return nil
		}
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// GrantReadOnly sets the bucket's policy so that the user with the given access key may read
// objects (GetObject, HeadObject) and list them (so that a missing key is a 404, not a 403),
// and write and delete only under writablePrefixes (the request handler's TLS certificates,
// TLSPrefix), and nothing else; what the request handler uses, where the storage has users and
// bucket policies (versitygw with its IAM, MinIO, AWS). Cloudflare R2 has no bucket policies:
// there, create an API token with the "Object Read only" permission instead, and give
// certificates a bucket of their own with its own read-write token.
func (s *Store) GrantReadOnly(ctx context.Context, accessKey string, writablePrefixes ...string) error {
	statements := []map[string]any{{
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": []string{accessKey}},
		"Action":    []string{"s3:GetObject", "s3:ListBucket"},
		"Resource":  []string{"arn:aws:s3:::" + s.bucket, "arn:aws:s3:::" + s.bucket + "/*"},
	}}
	if len(writablePrefixes) > 0 {
		var res []string
		for _, p := range writablePrefixes {
			res = append(res, "arn:aws:s3:::"+s.bucket+"/"+p+"*")
		}
		statements = append(statements, map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": []string{accessKey}},
			"Action":    []string{"s3:PutObject", "s3:DeleteObject"},
			"Resource":  res,
		})
	}
	policy, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		return err
	}
	if _, err := s.client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &s.bucket, Policy: aws.String(string(policy))}); err != nil {
		return fmt.Errorf("set the read-only policy of bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Ping checks that the bucket is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("object storage bucket %s: %w", s.bucket, err)
	}
	return nil
}

// PutOptions describe an object's metadata.
type PutOptions struct {
	ContentType     string
	ContentEncoding string
	CacheControl    string
}

// Put writes data under key.
func (s *Store) Put(ctx context.Context, key string, data []byte, opts PutOptions) error {
	return s.PutReader(ctx, key, bytes.NewReader(data), int64(len(data)), opts)
}

// PutReader writes size bytes from body under key. body must be seekable for retries to work,
// so callers with large streams pass an *os.File.
func (s *Store) PutReader(ctx context.Context, key string, body io.ReadSeeker, size int64, opts PutOptions) error {
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	if opts.ContentEncoding != "" {
		in.ContentEncoding = aws.String(opts.ContentEncoding)
	}
	if opts.CacheControl != "" {
		in.CacheControl = aws.String(opts.CacheControl)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Get opens the object at key. The caller closes the reader. ErrNotFound when absent.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("get %s: %w", key, ErrNotFound)
		}
		return nil, 0, fmt.Errorf("get %s: %w", key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// GetRange opens length bytes of the object at key starting at offset.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	rng := fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(key), Range: &rng})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("get %s %s: %w", key, rng, err)
	}
	return out.Body, nil
}

// GetBytes reads the whole object at key, refusing objects larger than limit bytes.
func (s *Store) GetBytes(ctx context.Context, key string, limit int64) ([]byte, error) {
	body, size, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if limit > 0 && size > limit {
		return nil, fmt.Errorf("get %s: %d bytes is more than the %d allowed", key, size, limit)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return data, nil
}

// Exists reports whether an object is stored at key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(key)})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("head %s: %w", key, err)
}

// Object is one entry of a listing.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// List returns every object whose key starts with prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// Delete removes the object at key; deleting a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(key)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	return false
}
