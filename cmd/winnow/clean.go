package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	gojson "github.com/goccy/go-json"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/winnow-dev/winnow/internal/memlimit"
	"github.com/winnow-dev/winnow/pipeline"
	"github.com/winnow-dev/winnow/schemas"
	"github.com/winnow-dev/winnow/worker"
)

// cleanStats counts what one `winnow clean` run did.
type cleanStats struct {
	lines, records, rejects int
	bytes                   int64
}

func runClean(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("winnow clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rejects := fs.String("rejects", "", "write dead-letter records of invalid lines to `FILE` (default stderr)")
	cfgPath := fs.String("config", "", "YAML config `FILE` (the pipeline section is used)")
	quiet := fs.Bool("quiet", false, "no progress on stderr, even on a terminal")
	policy := fs.String("policy", "", "moderation policy YAML `FILE` (default: the built-in policy)")
	var maxBytes sizeFlag
	fs.Var(&maxBytes, "max-doc-bytes", "reject a line (with --text or --html, a file) longer than `SIZE` (bytes, or KiB, MiB or GiB: 8MiB) as too_large, its first 64 KiB kept, reading no more of it than that; default the config's worker.max_doc_bytes (1 MiB), 0 for no limit")
	text := fs.Bool("text", false, "each FILE (or stdin, id \"-\") is one plain-text document, its id the FILE as given")
	page := fs.Bool("html", false, "each FILE (or stdin, id \"-\") is one HTML page, cleaned as the text a browser shows (as the worker reads a text/html body), its id the FILE as given")
	charset := fs.String("charset", "", "with --text or --html, the files' `LABEL` (windows-1252, shift_jis, utf-16le: the labels browsers know); default UTF-8, or with --html the page's <meta charset>; a byte order mark says which first")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: winnow clean [flags] [FILE…]\n\nReads JSON lines ({\"id\",\"text\",…}) from FILEs or stdin and writes one cleaned\nrecord per valid line to stdout, in input order. Blank lines are skipped.\nWith --text, each FILE is one plain-text document instead; with --html, one HTML page.\nExit status: 0 all lines valid, 2 some lines rejected, 1 fatal error.\n\n")
		fs.PrintDefaults()
	}
	inputs, code, done := parseArgs(fs, args, -1)
	if done {
		return code
	}
	if *text && *page {
		return fail(stderr, "winnow clean", errors.New("--text and --html: a file is one or the other"))
	}
	if *charset != "" {
		if !*text && !*page {
			return fail(stderr, "winnow clean", errors.New("--charset is for --text and --html: JSON lines are UTF-8"))
		}
		if _, err := htmlindex.Get(*charset); err != nil {
			return fail(stderr, "winnow clean", fmt.Errorf("--charset %q: not a label winnow decodes", *charset))
		}
	}
	cfg, err := loadConfig(*cfgPath, os.LookupEnv)
	if err != nil {
		return fail(stderr, "winnow clean", err)
	}
	if err == nil {
		err = applyPolicy(&cfg.Pipeline, *policy)
	}
	if err == nil {
		err = validatePipeline(cfg.Pipeline)
	}
	if err != nil {
		return fail(stderr, "winnow clean", err)
	}
	p, err := pipeline.New(cfg.Pipeline)
	if err != nil {
		return fail(stderr, "winnow clean", err)
	}
	// A batch job in a container has its limit too: the cross-document
	// memory grows with the corpus, and near the limit the collector should
	// work harder before the kernel kills the job.
	containerMemLimit(memlimit.Root(), os.LookupEnv)
	rejW := stderr
	if *rejects != "" {
		f, err := os.Create(*rejects)
		if err != nil {
			return fail(stderr, "winnow clean", err)
		}
		defer f.Close()
		rejW = f
	}
	out := bufio.NewWriterSize(stdout, 1<<20)
	rej := bufio.NewWriter(rejW)
	limit := int(cfg.Worker.MaxDocBytes)
	if maxBytes.set {
		limit = int(maxBytes.n)
	}
	c := &cleaner{p: p, out: gojson.NewEncoder(out), rej: gojson.NewEncoder(rej), progress: progressFor(stderr, *quiet), limit: limit}
	c.out.SetEscapeHTML(false)
	c.rej.SetEscapeHTML(false)

	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	read := c.file
	if *text || *page {
		decode := worker.DecodeText
		if *page {
			decode = worker.DecodePage
		}
		read = func(ctx context.Context, name string, stdin io.Reader) error {
			return c.textFile(ctx, name, stdin, func(data []byte, limit int) (schemas.Document, error) {
				return decode(data, name, *charset, limit)
			})
		}
	}
	for _, name := range inputs {
		if err := read(ctx, name, stdin); err != nil {
			out.Flush()
			rej.Flush()
			return fail(stderr, "winnow clean", err)
		}
	}
	if err := errors.Join(out.Flush(), rej.Flush()); err != nil {
		return fail(stderr, "winnow clean", err)
	}
	c.progress.done(c.stats)
	if c.stats.rejects > 0 {
		return exitRejected
	}
	return exitOK
}

type cleaner struct {
	p        *pipeline.Pipeline
	out, rej *gojson.Encoder
	stats    cleanStats
	progress *progress
	buf      []byte
	limit    int // the longest line cleaned, in bytes; 0 for no limit
}

func (c *cleaner) file(ctx context.Context, name string, stdin io.Reader) error {
	r, done, err := openInput(name, stdin)
	if err != nil {
		return err
	}
	defer done()
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, size, err := readLineMax(br, c.buf[:0], c.limit)
		c.buf = line[:0]
		if len(line) > 0 {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			werr := error(nil)
			if c.limit > 0 && size > int64(c.limit) {
				werr = c.tooLarge(name, n, "", trimEOL(line), size)
			} else {
				werr = c.line(name, n, line)
			}
			if werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

// tooLarge rejects line n (0 for a --text or --html file, whose id is known), size
// bytes without its line end, of which kept holds the first, as the worker
// dead-letters a message over max_doc_bytes.
func (c *cleaner) tooLarge(name string, n int, id string, kept []byte, size int64) error {
	c.stats.lines++
	c.stats.bytes += size
	dl := schemas.NewDeadLetter(schemas.ReasonTooLarge, fmt.Sprintf("%d bytes is over the %d-byte limit (--max-doc-bytes)", size, c.limit), id, kept)
	dl.Size = int(size)
	dl.Truncated = dl.Truncated || int64(len(kept)) < size
	return c.reject(name, n, dl)
}

// reject writes the dead letter of line n of the file name (- for
// standard input, which names none).
func (c *cleaner) reject(name string, n int, dl schemas.DeadLetter) error {
	c.stats.rejects++
	dl.Line = n
	if name != "-" {
		dl.Subject = name
	}
	return c.rej.Encode(dl)
}

func (c *cleaner) line(name string, n int, line []byte) error {
	c.stats.lines++
	c.stats.bytes += int64(len(line))
	body := trimEOL(line)
	if isBlankBytes(body) {
		return nil
	}
	doc, err := pipeline.Decode(body)
	if err != nil {
		return c.invalid(name, n, body, err)
	}
	return c.clean(doc)
}

// invalid rejects the input data that did not decode (a
// *schemas.InputError; any other error is returned).
func (c *cleaner) invalid(name string, n int, data []byte, err error) error {
	var ie *schemas.InputError
	if !errors.As(err, &ie) {
		return err
	}
	return c.reject(name, n, schemas.NewDeadLetter(ie.Reason, ie.Detail, ie.ID, data))
}

// textFile cleans the file name (- for standard input) as one document
// whose id is its name, read by decode (as the worker reads a text/plain
// or a text/html body) from the file's bytes, held to a limit. A rejected
// file's dead letter names it and no line.
func (c *cleaner) textFile(ctx context.Context, name string, stdin io.Reader, decode func(data []byte, limit int) (schemas.Document, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, done, err := openInput(name, stdin)
	if err != nil {
		return err
	}
	defer done()
	limit, lr := math.MaxInt, r
	if c.limit > 0 { // read one byte past the limit, no more
		limit, lr = c.limit, io.LimitReader(r, int64(c.limit)+1)
	}
	data, err := io.ReadAll(lr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > limit { // keep what a dead letter keeps, only count the rest
		more, err := io.ReadAll(io.LimitReader(r, int64(max(0, schemas.KeepBytes-len(data)))))
		data = append(data, more...)
		rest := int64(0)
		if err == nil {
			rest, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return c.tooLarge(name, 0, name, data, int64(len(data))+rest)
	}
	c.stats.lines++
	c.stats.bytes += int64(len(data))
	doc, err := decode(data, limit)
	if err != nil {
		return c.invalid(name, 0, data, err)
	}
	return c.clean(doc)
}

// clean writes the record of a decoded document.
func (c *cleaner) clean(doc schemas.Document) error {
	_, rec, err := c.p.Process(doc)
	if err != nil {
		return err // batch state is in memory: this does not happen, but is fatal if it does
	}
	c.p.Commit() // batch output is durable once written, in order
	c.stats.records++
	c.progress.tick(c.stats)
	return c.out.Encode(rec)
}

// readLine appends the next line (with its '\n', if any) to buf: unlike
// ReadBytes it reuses one buffer, so a long line costs its length once.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}

// readLineMax is readLine for lines of at most limit bytes (0: any): of a
// longer line it keeps the first limit+2 bytes or a little more and reads
// past the rest, so a line of gigabytes costs no more memory than the
// limit. size is the line's length without its line end, as trimEOL cuts it.
func readLineMax(br *bufio.Reader, buf []byte, limit int) ([]byte, int64, error) {
	var size int64
	var last byte // the byte before this fragment
	for {
		frag, err := br.ReadSlice('\n')
		if limit <= 0 || len(buf) <= limit+2 {
			buf = append(buf, frag...)
		}
		size += int64(len(frag))
		n := len(frag)
		if err != bufio.ErrBufferFull {
			if n > 0 && frag[n-1] == '\n' {
				size--
				if (n > 1 && frag[n-2] == '\r') || (n == 1 && last == '\r') {
					size--
				}
			}
			return buf, size, err
		}
		if n > 0 {
			last = frag[n-1]
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func isBlankBytes(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// progress prints a status line on stderr once a second when stderr is a
// terminal.
type progress struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func progressFor(w io.Writer, quiet bool) *progress {
	f, ok := w.(*os.File)
	if quiet || !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	now := time.Now()
	return &progress{w: w, start: now, last: now}
}

func (p *progress) tick(s cleanStats) {
	if p == nil || s.records%256 != 0 {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= time.Second {
		p.last = now
		p.print(s, "\r")
	}
}

func (p *progress) done(s cleanStats) {
	if p != nil {
		p.print(s, "\r")
		fmt.Fprintln(p.w)
	}
}

func (p *progress) print(s cleanStats, prefix string) {
	secs := time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "%swinnow clean: %d records, %d rejects, %.1f MB, %.1f MB/s   ", prefix,
		s.records, s.rejects, float64(s.bytes)/1e6, float64(s.bytes)/1e6/max(secs, 1e-9))
}
