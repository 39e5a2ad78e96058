package main

import (
	"strings"
	"testing"
	"time"
)

// TestSinceFlag: --since reads a duration back from now, days included,
// or a time (RFC 3339, or without a zone in UTC, or a date), and refuses
// the rest saying what it takes.
func TestSinceFlag(t *testing.T) {
	now := time.Now()
	for s, want := range map[string]time.Time{
		"6h":                        now.Add(-6 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"2d":                        now.Add(-48 * time.Hour),
		"1d12h":                     now.Add(-36 * time.Hour),
		"0":                         {},
		"2026-01-02T03:04:05Z":      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02T03:04:05+01:00": time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC),
		"2026-01-02T03:04":          time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		"2026-01-02 03:04:05":       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02":                time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	} {
		var f sinceFlag
		if err := f.Set(s); err != nil || !f.from(now).Equal(want) || f.given() == want.IsZero() || f.String() != s {
			t.Errorf("--since %s: from %v, given %v, %q, %v; want %v", s, f.from(now), f.given(), f.String(), err, want)
		}
	}
	for s, want := range map[string]string{
		"-1h":          "want a positive duration",
		"1d-2h":        "want a duration back from now (90m, 6h, 2d) or a time",
		"3d5":          "want a duration back from now",
		"yesterday":    "want a duration back from now",
		"99999999999d": "too far back",
		now.Add(time.Hour).UTC().Format(time.RFC3339): "is in the future",
	} {
		var f sinceFlag
		if err := f.Set(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--since %s: %v; want %q", s, err, want)
		}
	}
}
