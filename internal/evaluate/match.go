package evaluate

import "strings"

// line is one input line with its byte span and matching form.
type line struct {
	start, end int
	norm       string
}

func splitLines(text string) []line {
	var out []line
	off := 0
	for _, s := range strings.Split(text, "\n") {
		out = append(out, line{start: off, end: off + len(s), norm: normLine(s)})
		off += len(s) + 1
	}
	return out
}

// keptLines reports, for every input line, whether an output line matches
// it: first exact matches after normalisation in order, then near matches
// (the input contained in the output and longer than 20 characters, or word
// Jaccard >= 0.6), each output line used at most once.
func keptLines(in []line, outText string) []bool {
	var out []string
	for _, s := range strings.Split(outText, "\n") {
		out = append(out, normLine(s))
	}
	used := make([]bool, len(out))
	kept := make([]bool, len(in))
	queue := map[string][]int{}
	for j, s := range out {
		if s != "" {
			queue[s] = append(queue[s], j)
		}
	}
	for i, l := range in {
		if l.norm == "" {
			continue
		}
		if q := queue[l.norm]; len(q) > 0 {
			used[q[0]] = true
			queue[l.norm] = q[1:]
			kept[i] = true
		}
	}
	var outSets []map[string]struct{}
	for i, l := range in {
		if kept[i] || l.norm == "" {
			continue
		}
		set := wordSet(l.norm)
		for j, s := range out {
			if used[j] || s == "" {
				continue
			}
			if outSets == nil {
				outSets = make([]map[string]struct{}, len(out))
			}
			if outSets[j] == nil {
				outSets[j] = wordSet(s)
			}
			if (len([]rune(l.norm)) > 20 && strings.Contains(s, l.norm)) || jaccardWords(set, outSets[j]) >= 0.6 {
				used[j], kept[i] = true, true
				break
			}
		}
	}
	return kept
}
