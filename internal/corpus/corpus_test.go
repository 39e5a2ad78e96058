package corpus

import (
	"io"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the reader's buffer
	in := "{\"a\":1}\r\n\n   \n" + long + "\nlast"
	var got []string
	var nums []int
	if err := Lines(strings.NewReader(in), func(n int, b []byte) error {
		got, nums = append(got, string(b)), append(nums, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != `{"a":1}` || got[1] != long || got[2] != "last" {
		t.Fatalf("lines %d: %.20q", len(got), got)
	}
	if nums[0] != 1 || nums[1] != 4 || nums[2] != 5 {
		t.Fatalf("line numbers %v, want [1 4 5]", nums)
	}
}

// TestReaderShortInputs: inputs shorter than gzip's magic read as they are.
func TestReaderShortInputs(t *testing.T) {
	for _, in := range []string{"", "x", "\x1f"} {
		r, err := Reader(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got, err := io.ReadAll(r); err != nil || string(got) != in {
			t.Errorf("%q: read %q, %v", in, got, err)
		}
	}
}
