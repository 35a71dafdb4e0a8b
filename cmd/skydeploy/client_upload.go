package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
	"github.com/skydeploy/skydeploy/internal/apiclient"
	"github.com/skydeploy/skydeploy/internal/bytesize"
	"github.com/skydeploy/skydeploy/internal/localfolder"
	"github.com/skydeploy/skydeploy/internal/uploads"
)

// isRepositoryURL tells a repository URL from a folder on the command line.
func isRepositoryURL(arg string) bool {
	return strings.Contains(arg, "://") || strings.HasPrefix(arg, "git@")
}

// folderDeploy is what `skydeploy deploy [DIR]` was asked.
type folderDeploy struct {
	dir      string
	req      api.UploadDeployRequest
	noFollow bool
}

// uploadConcurrency is how many contents the client sends at once.
const uploadConcurrency = 8

// runDeployFolder deploys a folder: it reads it (ignore files, symlinks, limits: see
// internal/localfolder), sends the manifest, sends the contents the gateway lacks, starts the
// deployment and follows it. An interrupted run resumes where it stopped when started again:
// the contents already sent are not sent again.
func runDeployFolder(ctx context.Context, o folderDeploy) error {
	if o.req.Production && o.req.Project == "" {
		return usageError("--prod needs --project: a deployment without a project is served at its own URL only")
	}
	if o.req.Prebuilt && (o.req.RootDir != "" || o.req.InstallCommand != "" || o.req.BuildCommand != "" || o.req.OutputDir != "") {
		return usageError("--prebuilt publishes the folder as it is: --root-dir, --install-command, --build-command and --output-dir do not apply")
	}
	c, err := newAPIClient()
	if err != nil {
		return err
	}
	cfg, err := c.Config(ctx)
	if err != nil {
		return cliError(c, err)
	}
	if cfg.Uploads.MaxFiles == 0 {
		return fmt.Errorf("the gateway at %s does not take uploaded folders (it is older than this client)", c.BaseURL())
	}
	folder, err := localfolder.Scan(o.dir, localfolder.Options{
		Limits: uploads.FromAPI(cfg.Uploads),
		Warn:   func(msg string) { fmt.Fprintln(os.Stderr, "skydeploy: warning:", msg) },
	})
	if err != nil {
		return fmt.Errorf("cannot deploy %s: %w", o.dir, err)
	}
	o.req.Git = localfolder.GitInfo(ctx, folder.Dir)
	fmt.Printf("Deploying folder %s%s\n", folder.Dir, describeFolder(o))
	fmt.Printf("%d files, %s\n", len(folder.Files), bytesize.Format(folder.Bytes))
	var started api.StartedDeployment
	for attempt := 1; ; attempt++ {
		up, err := c.CreateUpload(ctx, folder.Manifest())
		if err != nil {
			return cliError(c, err)
		}
		if err := sendContents(ctx, c, folder, up); err != nil {
			return cliError(c, err)
		}
		started, err = c.DeployUpload(ctx, up.ID, o.req)
		// 409: a content went missing meanwhile (collected): look again, send it again.
		if apiclient.StatusCode(err) == http.StatusConflict && attempt < 3 {
			fmt.Fprintf(os.Stderr, "skydeploy: %v; uploading again\n", err)
			continue
		}
		if err != nil {
			return cliError(c, err)
		}
		break
	}
	return followStarted(ctx, c, started, o.noFollow)
}

// describeFolder says what is deployed where: the checkout and the project.
func describeFolder(o folderDeploy) string {
	var parts []string
	if g := o.req.Git; g != nil {
		what := "git commit " + short(g.Commit)
		if g.Branch != "" {
			what = "git " + g.Branch + "@" + short(g.Commit)
		}
		if g.Dirty {
			what += ", with uncommitted changes"
		}
		parts = append(parts, what)
	}
	if o.req.Prebuilt {
		parts = append(parts, "prebuilt")
	}
	if o.req.Project != "" {
		env := "preview (--prod for production)"
		if o.req.Production {
			env = "production"
		}
		parts = append(parts, env+" of project "+o.req.Project)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// sendContents sends the contents up says are missing, uploadConcurrency at once, each tried
// again on a passing failure, with a progress display.
func sendContents(ctx context.Context, c *apiclient.Client, folder *localfolder.Folder, up api.Upload) error {
	reused := up.Contents - len(up.Missing)
	if len(up.Missing) == 0 {
		fmt.Printf("Nothing to upload: all %s are already on the server\n", contents(up.Contents))
		return nil
	}
	fmt.Printf("Uploading %d of %d contents (%s); %d already on the server\n", len(up.Missing), up.Contents, bytesize.Format(up.MissingBytes), reused)
	source := map[string]localfolder.File{}
	for _, f := range folder.Files {
		if _, ok := source[f.SHA256]; !ok {
			source[f.SHA256] = f
		}
	}
	p := newProgress(os.Stdout, len(up.Missing), up.MissingBytes)
	defer p.stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan string)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range uploadConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sha := range jobs {
				f := source[sha]
				if err := sendContent(ctx, c, folder, up.ID, f); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				p.add(f.Size)
			}
		}()
	}
	for _, sha := range up.Missing {
		select {
		case jobs <- sha:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	p.done()
	return nil
}

// sendContent sends one content, trying again (up to four times, backing off) when the gateway
// cannot be reached or answers 5xx or 429.
func sendContent(ctx context.Context, c *apiclient.Client, folder *localfolder.Folder, uploadID string, f localfolder.File) error {
	open := func() (io.ReadCloser, error) { return folder.Open(f.Source) }
	var err error
	for attempt := 1; attempt <= 4; attempt++ {
		err = c.PutContent(ctx, uploadID, f.SHA256, f.Size, open)
		code := apiclient.StatusCode(err)
		if err == nil || ctx.Err() != nil || code != 0 && code < 500 && code != http.StatusTooManyRequests {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt*attempt) * 250 * time.Millisecond):
		}
	}
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if code := apiclient.StatusCode(err); code == http.StatusUnprocessableEntity {
		return fmt.Errorf("%s changed while it was being uploaded (%v): run the command again", f.Path, err)
	}
	return fmt.Errorf("upload %s: %w", f.Path, err)
}

// progress shows how an upload goes: a bar redrawn in place on a terminal, a plain line every
// few seconds otherwise (CI logs).
type progress struct {
	w          io.Writer
	tty        bool
	total      int
	totalBytes int64
	n          atomic.Int64
	bytes      atomic.Int64
	begin      time.Time
	quit       chan struct{}
	finished   sync.WaitGroup
	stopOnce   sync.Once
}

// isTerminal reports whether f is a terminal (a character device) that can redraw a line.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

func newProgress(f *os.File, total int, totalBytes int64) *progress {
	p := &progress{w: f, tty: isTerminal(f), total: total, totalBytes: totalBytes, begin: time.Now(), quit: make(chan struct{})}
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	p.finished.Add(1)
	go func() {
		defer p.finished.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		last := int64(-1)
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				if n := p.n.Load(); p.tty || n != last {
					p.draw()
					last = n
				}
			}
		}
	}()
	return p
}

func (p *progress) add(size int64) {
	p.n.Add(1)
	p.bytes.Add(size)
}

// line is the progress as text: "12/40 contents, 1.2 MiB/3.4 MiB".
func (p *progress) line() string {
	return fmt.Sprintf("%d/%d contents, %s/%s", p.n.Load(), p.total, bytesize.Format(p.bytes.Load()), bytesize.Format(p.totalBytes))
}

func (p *progress) draw() {
	if !p.tty {
		fmt.Fprintf(p.w, "Uploaded %s\n", p.line())
		return
	}
	const width = 30
	frac := 1.0
	if p.totalBytes > 0 {
		frac = float64(p.bytes.Load()) / float64(p.totalBytes)
	} else if p.total > 0 {
		frac = float64(p.n.Load()) / float64(p.total)
	}
	filled := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("█", filled), strings.Repeat("░", width-filled), p.line())
}

func (p *progress) stop() {
	p.stopOnce.Do(func() {
		close(p.quit)
		p.finished.Wait()
		if p.tty {
			fmt.Fprint(p.w, "\r\x1b[K")
		}
	})
}

// done stops the display and prints the outcome.
func (p *progress) done() {
	p.stop()
	fmt.Fprintf(p.w, "Uploaded %s (%s) in %s\n", contents(p.total), bytesize.Format(p.totalBytes), fmtDuration(time.Since(p.begin)))
}

// contents says "1 content" or "N contents".
func contents(n int) string {
	if n == 1 {
		return "1 content"
	}
	return fmt.Sprintf("%d contents", n)
}
