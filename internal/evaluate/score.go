package evaluate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Report holds every score EVALUATION.md defines for a gold set.
type Report struct {
	Docs    int `json:"docs"`
	Missing int `json:"missing_records"`

	InDocRepeats       int     `json:"in_doc_repeats"`
	InDocRemoved       int     `json:"in_doc_removed"`
	InDocRecall        float64 `json:"in_doc_recall"`
	CrossDocRepeats    int     `json:"cross_doc_repeats"`
	CrossDocRemoved    int     `json:"cross_doc_removed"`
	CrossDocRecall     float64 `json:"cross_doc_recall"`
	BodyLines          int     `json:"body_lines"`
	BodyRemoved        int     `json:"body_removed"`
	BodyWronglyRemoved float64 `json:"body_wrongly_removed"`

	DupPairs          int     `json:"dup_pairs"`
	DupFound          int     `json:"dup_found"`
	NotDupPairs       int     `json:"not_dup_pairs"`
	DupFalsePositives int     `json:"dup_false_positives"`
	DupPrecision      float64 `json:"dup_precision"`
	DupRecall         float64 `json:"dup_recall"`
	ReplyQuotesFP     int     `json:"reply_quotes_parent_false_positives"`
	FullPagePairs     int     `json:"fullpage_pairs"`
	FullPageFound     int     `json:"fullpage_found"`

	SpamDocs     int     `json:"spam_docs"`
	HamDocs      int     `json:"ham_docs"`
	SpamTP       int     `json:"spam_tp"`
	SpamFP       int     `json:"spam_fp"`
	SpamF1       float64 `json:"spam_f1"`
	HamFlaggedFP float64 `json:"ham_false_positive_rate"`

	// Examples of misses, for a person reading the report.
	MissedInDoc  []string `json:"missed_in_doc,omitempty"`
	MissedCross  []string `json:"missed_cross_doc,omitempty"`
	WrongBody    []string `json:"wrongly_removed_body,omitempty"`
	MissedDups   []string `json:"missed_duplicates,omitempty"`
	FalseDups    []string `json:"false_duplicates,omitempty"`
	exampleLimit int
}

func (r *Report) example(list *[]string, format string, args ...any) {
	if len(*list) < r.exampleLimit {
		*list = append(*list, fmt.Sprintf(format, args...))
	}
}

// Score scores outputs (by id) against the gold set, walking documents in
// file order. examples bounds how many misses of each kind are listed.
func Score(g *Gold, outputs map[string]Output, examples int) Report {
	r := Report{Docs: len(g.Docs), exampleLimit: examples}
	pos := map[string]int{}
	for i, d := range g.Docs {
		pos[d.ID] = i
	}
	r.scoreLines(g, outputs, pos)
	r.scorePairs(g, outputs, pos)
	r.scoreSpam(g, outputs)
	return r
}

func (r *Report) scoreLines(g *Gold, outputs map[string]Output, pos map[string]int) {
	seenAnywhere := map[string]bool{} // normalised lines of earlier documents
	seenTrailers := map[string]bool{}
	for i, d := range g.Docs {
		lines := splitLines(d.Text)
		blocks := g.Blocks[d.ID]
		out, ok := outputs[d.ID]
		var kept []bool
		if !ok {
			r.Missing++
		} else if out.DuplicateOf == "" {
			kept = keptLines(lines, out.Text)
		}
		seenHere := map[string]bool{}
		for li, l := range lines {
			if l.norm == "" {
				continue
			}
			label := r.label(g, d, i, l, blocks, seenHere, seenTrailers, seenAnywhere, pos)
			seenHere[l.norm] = true
			if kept == nil {
				continue
			}
			switch label {
			case "in_doc":
				r.InDocRepeats++
				if !kept[li] {
					r.InDocRemoved++
				} else {
					r.example(&r.MissedInDoc, "%s line %d: %q", d.ID, li, clip(d.Text[l.start:l.end]))
				}
			case "cross_doc":
				r.CrossDocRepeats++
				if !kept[li] {
					r.CrossDocRemoved++
				} else {
					r.example(&r.MissedCross, "%s line %d: %q", d.ID, li, clip(d.Text[l.start:l.end]))
				}
			case "body":
				r.BodyLines++
				if !kept[li] {
					r.BodyRemoved++
					r.example(&r.WrongBody, "%s line %d: %q", d.ID, li, clip(d.Text[l.start:l.end]))
				}
			}
		}
		for s := range seenHere {
			seenAnywhere[s] = true
		}
		for _, b := range blocks {
			if b.Kind == "list_trailer" {
				seenTrailers[b.Text] = true
			}
		}
	}
	r.InDocRecall = ratio(r.InDocRemoved, r.InDocRepeats)
	r.CrossDocRecall = ratio(r.CrossDocRemoved, r.CrossDocRepeats)
	r.BodyWronglyRemoved = ratio(r.BodyRemoved, r.BodyLines)
}

// label applies EVALUATION.md's line labels: "in_doc", "cross_doc", "body",
// or "" for a line that is not scored.
func (r *Report) label(g *Gold, d Doc, di int, l line, blocks []Block, seenHere, seenTrailers, seenAnywhere map[string]bool, pos map[string]int) string {
	inSpan, inDoc, cross := false, seenHere[l.norm], false
	for _, b := range blocks {
		if l.start >= b.End || l.end <= b.Start {
			continue
		}
		inSpan = true
		switch b.Kind {
		case "repeated_in_doc":
			inDoc = true
		case "list_trailer":
			cross = cross || seenTrailers[b.Text]
		case "quoted_reply":
			if p, ok := pos[b.Ref]; ok && p < di && b.Containment != nil && *b.Containment >= 0.5 {
				cross = true
			}
		}
	}
	switch {
	case inDoc:
		return "in_doc"
	case cross:
		return "cross_doc"
	case inSpan || seenAnywhere[l.norm]:
		return ""
	}
	return "body"
}

func (r *Report) scorePairs(g *Gold, outputs map[string]Output, pos map[string]int) {
	cluster := map[string][]string{}
	for _, d := range g.Docs {
		if c := g.Labels[d.ID].Cluster; c != "" {
			cluster[c] = append(cluster[c], d.ID)
		}
	}
	names := func(later, earlier string) bool {
		dup := outputs[later].DuplicateOf
		if dup == "" {
			return false
		}
		if dup == earlier {
			return true
		}
		if c := g.Labels[earlier].Cluster; c != "" {
			for _, id := range cluster[c] {
				if id == dup {
					return true
				}
			}
		}
		return false
	}
	for _, p := range g.Pairs {
		pa, oka := pos[p.A]
		pb, okb := pos[p.B]
		if !oka || !okb {
			continue
		}
		earlier, later := p.A, p.B
		if pa > pb {
			earlier, later = p.B, p.A
		}
		found := names(later, earlier)
		switch {
		case p.Kind == "same_page_fullpage_vs_body":
			r.FullPagePairs++
			if found {
				r.FullPageFound++
			}
		case p.Label == "duplicate":
			r.DupPairs++
			if found {
				r.DupFound++
			} else {
				r.example(&r.MissedDups, "%s vs %s (%s)", later, earlier, p.Kind)
			}
		case p.Label == "not_duplicate":
			r.NotDupPairs++
			if found {
				r.DupFalsePositives++
				r.example(&r.FalseDups, "%s vs %s (%s)", later, earlier, p.Kind)
				if p.Kind == "reply_quotes_parent" {
					r.ReplyQuotesFP++
				}
			}
		}
	}
	r.DupRecall = ratio(r.DupFound, r.DupPairs)
	r.DupPrecision = ratio(r.DupFound, r.DupFound+r.DupFalsePositives)
}

func (r *Report) scoreSpam(g *Gold, outputs map[string]Output) {
	fn := 0
	for _, d := range g.Docs {
		l, ok := g.Labels[d.ID]
		if !ok || l.Spam == nil {
			continue
		}
		flagged := outputs[d.ID].spam()
		switch {
		case *l.Spam:
			r.SpamDocs++
			if flagged {
				r.SpamTP++
			} else {
				fn++
			}
		default:
			r.HamDocs++
			if flagged {
				r.SpamFP++
			}
		}
	}
	if p, q := ratio(r.SpamTP, r.SpamTP+r.SpamFP), ratio(r.SpamTP, r.SpamTP+fn); p+q > 0 {
		r.SpamF1 = 2 * p * q / (p + q)
	}
	r.HamFlaggedFP = ratio(r.SpamFP, r.HamDocs)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// clip returns s trimmed, its first 80 bytes and an ellipsis when longer,
// cut between characters.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= 80 {
		return s
	}
	n := 80
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
