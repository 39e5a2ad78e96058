// Package evaluate scores `winnow clean` output against a labeled gold set
// exactly as ../shared/corpus/EVALUATION.md describes: line matching, line
// labels walked in file order, document-level duplicate pairs and spam flags.
// It reads files it is pointed at and nothing else.
package evaluate
