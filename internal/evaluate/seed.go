package evaluate

import (
	"encoding/json"
	"fmt"
	"os"
)

// Seed is seed-gold.jsonl: one document with the 0-based lines that must be
// dropped and kept.
type Seed struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Drop []int  `json:"drop"`
	Keep []int  `json:"keep"`
}

// LoadSeed reads a seed-gold file.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Seed
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("evaluate: %s: %w", path, err)
	}
	return &s, nil
}

// SeedReport lists the seed lines that came out wrong.
type SeedReport struct {
	DropKept    []int `json:"drop_lines_kept"`
	KeepRemoved []int `json:"keep_lines_removed"`
}

// OK reports whether every drop line went and every keep line stayed.
func (r SeedReport) OK() bool { return len(r.DropKept) == 0 && len(r.KeepRemoved) == 0 }

// ScoreSeed matches the output text against the seed's lines.
func ScoreSeed(s *Seed, outText string) SeedReport {
	kept := keptLines(splitLines(s.Text), outText)
	var r SeedReport
	for _, i := range s.Drop {
		if kept[i] {
			r.DropKept = append(r.DropKept, i)
		}
	}
	for _, i := range s.Keep {
		if !kept[i] {
			r.KeepRemoved = append(r.KeepRemoved, i)
		}
	}
	return r
}
