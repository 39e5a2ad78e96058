package evaluate

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/winnow-dev/winnow/internal/corpus"
)

// Output is what the scorer reads of one `winnow clean` record.
type Output struct {
	ID          string            `json:"id"`
	Text        string            `json:"text"`
	DuplicateOf string            `json:"duplicate_of"`
	Flags       []json.RawMessage `json:"flags"`
}

// spam reports whether one of the flags is the string "spam…" or an object
// whose rule starts with "spam".
func (o Output) spam() bool {
	for _, f := range o.Flags {
		var s string
		if json.Unmarshal(f, &s) == nil && strings.HasPrefix(s, "spam") {
			return true
		}
		var obj struct {
			Rule string `json:"rule"`
		}
		if json.Unmarshal(f, &obj) == nil && strings.HasPrefix(obj.Rule, "spam") {
			return true
		}
	}
	return false
}

// Doc is a gold document.
type Doc struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Label is one row of labels.jsonl.
type Label struct {
	ID      string `json:"id"`
	Spam    *bool  `json:"spam"`
	Cluster string `json:"cluster"`
}

// Pair is one row of pairs.jsonl.
type Pair struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Label string `json:"label"`
	Kind  string `json:"kind"`
}

// Block is one row of blocks.jsonl.
type Block struct {
	Doc         string   `json:"doc"`
	Kind        string   `json:"kind"`
	Start       int      `json:"byte_start"`
	End         int      `json:"byte_end"`
	Ref         string   `json:"ref"`
	Text        string   `json:"text"`
	Containment *float64 `json:"containment_in_ref_5shingle"`
}

// Gold is a loaded gold set.
type Gold struct {
	Docs   []Doc
	Labels map[string]Label
	Pairs  []Pair
	Blocks map[string][]Block // by doc id
}

// LoadGold reads docs.jsonl, labels.jsonl, pairs.jsonl and blocks.jsonl from
// dir; missing label, pair or block files count as empty.
func LoadGold(dir string) (*Gold, error) {
	g := &Gold{Labels: map[string]Label{}, Blocks: map[string][]Block{}}
	if err := readJSONL(dir+"/docs.jsonl", func(b []byte) error {
		var d Doc
		err := json.Unmarshal(b, &d)
		g.Docs = append(g.Docs, d)
		return err
	}); err != nil {
		return nil, err
	}
	optional := func(name string, fn func([]byte) error) error {
		err := readJSONL(dir+"/"+name, fn)
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	if err := optional("labels.jsonl", func(b []byte) error {
		var l Label
		err := json.Unmarshal(b, &l)
		g.Labels[l.ID] = l
		return err
	}); err != nil {
		return nil, err
	}
	if err := optional("pairs.jsonl", func(b []byte) error {
		var p Pair
		err := json.Unmarshal(b, &p)
		g.Pairs = append(g.Pairs, p)
		return err
	}); err != nil {
		return nil, err
	}
	if err := optional("blocks.jsonl", func(b []byte) error {
		var bl Block
		err := json.Unmarshal(b, &bl)
		g.Blocks[bl.Doc] = append(g.Blocks[bl.Doc], bl)
		return err
	}); err != nil {
		return nil, err
	}
	return g, nil
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return corpus.Lines(f, func(n int, b []byte) error {
		if err := fn(b); err != nil {
			return fmt.Errorf("evaluate: %s:%d: %w", path, n, err)
		}
		return nil
	})
}

// ReadOutputs reads `winnow clean` records (JSON lines) keyed by id.
func ReadOutputs(r io.Reader) (map[string]Output, error) {
	out := map[string]Output{}
	err := corpus.Lines(r, func(n int, b []byte) error {
		var o Output
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("evaluate: output line %d: %w", n, err)
		}
		out[o.ID] = o
		return nil
	})
	return out, err
}
