package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/winnow-dev/winnow/schemas"
)

// TestEncodeWithin: a record over its room lists the most of its removals,
// the first, that a body of room bytes holds (one more would not fit),
// counts the rest in removed_omitted, and decodes to what it was but for
// those; texts that JSON escapes (quotes, control characters, U+2028) are
// measured as encoded. Where removals repeat one block, an example of each
// other group is listed before a second of the block. A record over its
// room with none listed is a *recordTooLarge, and no room is no limit.
func TestEncodeWithin(t *testing.T) {
	texts := []string{"ab", `say "hi"`, "tab\there", "\u2028 line sep", "<b>&amp;</b>", strings.Repeat("long block ", 40), "\x01\x02"}
	record := func(n, omitted int) schemas.Record {
		rec := schemas.Record{Schema: schemas.RecordV1, ID: "e", Text: "kept text", Removed: []schemas.Removal{}, Flags: []schemas.Flag{},
			RemovedOmitted: omitted, Stats: schemas.Stats{RemovedByReason: map[string]int{"exact_repeat": n + omitted}}}
		for i := range n {
			ref := i
			rec.Removed = append(rec.Removed, schemas.Removal{Text: texts[i%len(texts)], Reason: "exact_repeat", Kind: "line",
				Offset: 100 * i, Length: len(texts[i%len(texts)]), RefOffset: &ref, RefLength: &ref, Similarity: 1})
		}
		return rec
	}
	full := record(40, 0)
	all, err := encodeRecord(&full)
	if err != nil {
		t.Fatal(err)
	}
	none := record(0, 40)
	least, _ := encodeRecord(&none)
	fits := 0
	for room := int64(len(least)) - 5; room <= int64(len(all))+5; room += 3 {
		for _, omitted := range []int{0, 7} {
			want := record(40, omitted)
			rec := record(40, omitted)
			body, err := encodeWithin(&rec, room)
			var big *recordTooLarge
			if errors.As(err, &big) {
				if empty := record(0, 40+omitted); room >= int64(len(mustEncode(t, &empty))) {
					t.Fatalf("room %d: %v, though the record fits with none listed", room, err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var back schemas.Record
			if err := json.Unmarshal(body, &back); err != nil {
				t.Fatal(err)
			}
			n := len(back.Removed)
			if int64(len(body)) > room || back.RemovedOmitted != omitted+40-n || !reflect.DeepEqual(back.Removed, want.Removed[:n]) ||
				back.Text != want.Text || !reflect.DeepEqual(back.Stats, want.Stats) {
				t.Fatalf("room %d: %d bytes, %d listed, %d omitted: want at most %d bytes, the first removals, the rest omitted",
					room, len(body), n, back.RemovedOmitted, room)
			}
			if n < 40 {
				more := want
				more.Removed, more.RemovedOmitted = want.Removed[:n+1], omitted+40-n-1
				if b := mustEncode(t, &more); int64(len(b)) <= room {
					t.Fatalf("room %d: %d listed, but %d fit (%d bytes)", room, n, n+1, len(b))
				}
			}
			fits++
		}
	}
	if fits == 0 {
		t.Fatal("no room fitted a record")
	}
	rec := record(40, 0)
	if body, err := encodeWithin(&rec, 0); err != nil || string(body) != string(all) {
		t.Errorf("no room: %v, %d bytes: want the record whole (%d bytes)", err, len(body), len(all))
	}
	// Thirty repeats of one line and an ad dropped after them: a record with
	// room for three lists the first repeat, the ad and the second repeat.
	grouped := record(0, 0)
	for i := range 31 {
		rm := schemas.Removal{Text: "ab", Reason: "exact_repeat", Kind: "line", Offset: 3 * (i + 1), Length: 2, RefOffset: new(int)}
		if i == 30 {
			rm = schemas.Removal{Text: "Buy now", Reason: "promotional", Kind: "line", Offset: 3 * (i + 1), Length: 7}
		}
		grouped.Removed = append(grouped.Removed, rm)
	}
	want := []schemas.Removal{grouped.Removed[0], grouped.Removed[1], grouped.Removed[30]}
	three := grouped
	three.Removed, three.RemovedOmitted = want, 28
	body, err := encodeWithin(&grouped, int64(len(mustEncode(t, &three))))
	var back schemas.Record
	if err != nil || json.Unmarshal(body, &back) != nil || !reflect.DeepEqual(back.Removed, want) || back.RemovedOmitted != 28 {
		t.Errorf("repeats and an ad, room for three: %v, removed %+v, %d omitted: want %+v, 28 omitted", err, back.Removed, back.RemovedOmitted, want)
	}

	rec, empty := record(3, 0), record(0, 3)
	_, err = encodeWithin(&rec, 10)
	if want := fmt.Sprintf("its record would be %d bytes with none of its 3 removals listed, over the 10 its message may take",
		len(mustEncode(t, &empty))); err == nil ||
		!strings.HasPrefix(err.Error(), want) {
		t.Errorf("room 10: %v: want %q", err, want)
	}
}

func mustEncode(t *testing.T, rec *schemas.Record) []byte {
	t.Helper()
	b, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
