// Package corpus locates the shared corpus (../shared/corpus beside the
// repository, or $WINNOW_CORPUS) and reads JSON-lines files, plain or
// gzipped: the one line reader of tests, benchmarks, evaluation and the
// tools that read document files (winnow eval, audit, train-spam, bench).
package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Dir returns the corpus directory: $WINNOW_CORPUS, else the first
// shared/corpus found walking up from the working directory. It fails with a
// message saying how to point at it; callers must not skip when it is absent.
func Dir() (string, error) {
	if d := os.Getenv("WINNOW_CORPUS"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "shared", "corpus")
		if fi, err := os.Stat(filepath.Join(c, "seed-gold.jsonl")); err == nil && !fi.IsDir() {
			return c, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("corpus: shared/corpus not found above %s; set WINNOW_CORPUS", wd)
		}
	}
}

// Doc is one {"id","text"} line.
type Doc struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Each calls fn for every non-blank line of a JSON-lines file
// (gzip-decompressed when it is gzip, see Reader), without its newline.
func Each(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := Reader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return Lines(r, func(_ int, line []byte) error { return fn(line) })
}

// Reader returns r gzip-decompressed when it opens with gzip's magic bytes
// (1f 8b), else r as it is: no JSON line starts with them, so a
// .jsonl.gz reads whatever its name, standard input too. A gzip stream
// that breaks off fails the read that reaches the break.
func Reader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	switch {
	case len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return gzip.NewReader(br)
	case err != nil && err != io.EOF:
		return nil, err
	}
	return br, nil
}

// Lines calls fn for every non-blank line of r with its 1-based line
// number, without the newline. Lines may be longer than any buffer (the
// bench corpus has one of 200 KB).
func Lines(r io.Reader, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if ferr := fn(n, bytes.TrimRight(line, "\r\n")); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Docs reads up to limit documents (all when limit <= 0).
func Docs(path string, limit int) ([]Doc, error) {
	var docs []Doc
	stop := fmt.Errorf("stop")
	err := Each(path, func(line []byte) error {
		var d Doc
		if err := json.Unmarshal(line, &d); err != nil {
			return err
		}
		docs = append(docs, d)
		if limit > 0 && len(docs) >= limit {
			return stop
		}
		return nil
	})
	if err == stop {
		err = nil
	}
	return docs, err
}
