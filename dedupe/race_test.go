//go:build race

package dedupe

// raceEnabled: a race build allocates where a plain one does not, so
// allocation counts are checked against its own figures.
const raceEnabled = true
