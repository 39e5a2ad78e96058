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

// TestDurationFlag: `winnow audit --wait` and `healthcheck --timeout` read
// a duration as the configuration does, days included (fs.Duration
// refused "1d"), and refuse the rest saying what they take.
func TestDurationFlag(t *testing.T) {
	for s, want := range map[string]time.Duration{"90s": 90 * time.Second, "1h30m": 90 * time.Minute, "2d": 48 * time.Hour, "1d12h": 36 * time.Hour, "0": 0} {
		var f durationFlag
		if err := f.Set(s); err != nil || time.Duration(f) != want {
			t.Errorf("%s: %v, %v; want %v", s, time.Duration(f), err, want)
		}
	}
	for s, want := range map[string]string{
		"10":           "want a duration with its unit: 500ms, 30s, 5m, 2h, 7d",
		"2x":           "want a duration with its unit",
		"-5s":          "want a duration of 0 or more",
		"99999999999d": "longer than a duration holds",
	} {
		var f durationFlag
		if err := f.Set(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", s, err, want)
		}
	}
	// On the command line the error names the flag.
	var out, errb strings.Builder
	if code := Main(t.Context(), []string{"audit", "--wait", "2x"}, nil, &out, &errb); code == exitOK ||
		!strings.Contains(errb.String(), `invalid value "2x" for flag -wait: want a duration with its unit`) {
		t.Errorf("audit --wait 2x: exit %d, %q", code, errb.String())
	}
}
