package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadIDs: `winnow audit --ids` reads each line's id, past a byte order
// mark opening the file (as the worker reads such a document), and names
// the line that has none.
func TestReadIDs(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids, err := readIDs(file("bom.jsonl", "\ufeff{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\" b\"}\n"))
	if err != nil || !slices.Equal(ids, []string{"a", " b"}) {
		t.Errorf("got %q, %v", ids, err)
	}
	if _, err := readIDs(file("bad.jsonl", "{\"id\":\"a\"}\n{\"text\":\"x\"}\n")); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("a line without an id: %v", err)
	}
}
