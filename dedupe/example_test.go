package dedupe_test

import (
	"fmt"

	"github.com/winnow-dev/winnow/dedupe"
)

func ExampleCleaner_Analyze() {
	text := "Police patrol the airport&#xa0; - Reuters\nPolice patrol the airport - Reuters\nThe body."
	c, _ := dedupe.NewCleaner(dedupe.DefaultOptions())
	var a dedupe.Analysis
	c.Analyze(text, &a)
	for _, r := range a.Removals {
		fmt.Printf("%s at %d repeats %d (similarity %.2f)\n", r.Reason, r.Start, r.Ref.Start, r.Similarity)
	}
	// Output:
	// exact_repeat at 42 repeats 0 (similarity 1.00)
}

func ExampleNormalizer() {
	n := dedupe.NewNormalizer()
	fmt.Println(n.String("  • “They aren’t police,” she said&nbsp;—&nbsp;TWICE"))
	// Output:
	// they aren t police she said twice
}
