package worker

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestParseBytes: a size is a whole number of bytes or of KiB, MiB or GiB
// (as Kubernetes writes them too); KB, MB and GB, which mean 1000s to some
// and 1024s to nats-server, are refused with the way out.
func TestParseBytes(t *testing.T) {
	for s, want := range map[string]Bytes{
		"1048576": 1 << 20, "0": 0, "1_024": 1024, "512KiB": 512 << 10, "8MiB": 8 << 20, "8 MiB": 8 << 20,
		"8mib": 8 << 20, "8Mi": 8 << 20, "1GiB": 1 << 30, "2Gi": 2 << 30, "64Ki": 64 << 10, " 4096 ": 4096, "100B": 100,
	} {
		if got, err := ParseBytes(s); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for s, want := range map[string]string{
		"8MB":                  "MB means 1000s to some and 1024s to others: say MiB, or give bytes",
		"8k":                   "k means 1000s to some and 1024s to others: say KiB, or give bytes",
		"1GB":                  "GB means 1000s to some and 1024s to others: say GiB, or give bytes",
		"":                     "want a whole number of bytes, or of KiB, MiB or GiB (8MiB)",
		"MiB":                  "want a whole number of bytes, or of KiB, MiB or GiB (8MiB)",
		"-5":                   "want a whole number of bytes, or of KiB, MiB or GiB (8MiB)",
		"1.5MiB":               "want a whole number of bytes, or of KiB, MiB or GiB (8MiB)",
		"8TiB":                 "want a whole number of bytes, or of KiB, MiB or GiB (8MiB)",
		"99999999999GiB":       "too large a size",
		"99999999999999999999": "too large a size",
	} {
		if got, err := ParseBytes(s); err == nil || err.Error() != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %q", s, got, err, want)
		}
	}
}

// TestBytesFromYAML: a YAML number or string, with yaml.v3's line in the
// error.
func TestBytesFromYAML(t *testing.T) {
	var c struct {
		A Bytes `yaml:"a"`
		B Bytes `yaml:"b"`
		C Bytes `yaml:"c"`
	}
	if err := yaml.Unmarshal([]byte("a: 2048\nb: 8MiB\nc: 1e6\n"), &c); err != nil || c.A != 2048 || c.B != 8<<20 || c.C != 1e6 {
		t.Fatalf("%+v, %v", c, err)
	}
	err := yaml.Unmarshal([]byte("a: 8MB\nb: 1.5\nc: [1]\n"), &c)
	for _, want := range []string{
		"line 1: cannot unmarshal !!str `8MB` into worker.Bytes: MB means 1000s to some",
		"line 2: cannot unmarshal !!float `1.5` into worker.Bytes: want a whole number of bytes",
		"line 3: cannot unmarshal !!seq into worker.Bytes: not a single value",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q", err, want)
		}
	}
}
