// Package corpus locates the shared corpus (../shared/corpus beside the
// repository, or $WINNOW_CORPUS) for tests, benchmarks and evaluation, and
// reads its JSON-lines files. It is test support: no production code
// imports it.
package corpus

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// Each calls fn for every JSON line of a file (gzip-decompressed when it
// ends in .gz) with the raw line, without its newline.
func Each(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		line = []byte(strings.TrimRight(string(line), "\n"))
		if len(line) > 0 {
			if ferr := fn(line); ferr != nil {
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
