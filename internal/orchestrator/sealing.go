package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/s2"

	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// storedEntry is a journal entry as stored: the headers an instance
// started with carry bearer tokens (Authorization, X-Authorization-*), so
// they are kept sealed, never as plain JSON. Void marks an entry a
// retrigger set aside: it stays in the journal but is not replayed.
type storedEntry struct {
	engine.Entry
	SealedHeaders string `json:"sealedHeaders,omitempty"`
	Void          bool   `json:"void,omitempty"`
}

// journalCodec turns the entries of one journal batch into one stored
// row and back. A row is a JSON array of entries. On SQLite it is stored
// zstd-compressed: one writer commits every page that all instances
// dirty, so the bytes of a row are time taken from every other instance
// (a greeting's ten entries shrink from about 2.5 KB to under 1 KB).
// PostgreSQL keeps the JSON text and compresses large values itself.
// Rows written before batches were stored hold one entry as a JSON
// object; they read as a batch of one.
type journalCodec struct {
	sealer   *seal.Sealer
	compress bool // false: rows are stored as JSON text
}

// s2Row starts a compressed row (an S2 block follows); JSON never
// starts with it.
const s2Row = 0x01

// maxJournalRow bounds what one stored row may decompress to.
const maxJournalRow = 256 << 20

func newJournalCodec(sealer *seal.Sealer, compress bool) *journalCodec {
	return &journalCodec{sealer: sealer, compress: compress}
}

// encode returns the stored row for a batch of entries: bytes when
// compressing, a string otherwise. Start headers are sealed when a sealer
// is configured.
func (c *journalCodec) encode(entries []engine.Entry) (any, error) {
	stored := make([]storedEntry, len(entries))
	for i := range entries {
		se, err := c.seal(&entries[i])
		if err != nil {
			return nil, err
		}
		stored[i] = se
	}
	return c.encodeStored(stored)
}

// encodeStored returns the stored row for entries already sealed.
func (c *journalCodec) encodeStored(stored []storedEntry) (any, error) {
	data, err := json.Marshal(stored)
	if err != nil {
		return nil, fmt.Errorf("encode journal entries: %w", err)
	}
	if !c.compress {
		return string(data), nil
	}
	n := s2.MaxEncodedLen(len(data))
	if n < 0 {
		return nil, fmt.Errorf("journal entries of %d bytes are too large to store", len(data))
	}
	out := make([]byte, 1+n)
	out[0] = s2Row
	// Encode writes into out[1:], which is large enough.
	return out[:1+len(s2.Encode(out[1:], data))], nil
}

func (c *journalCodec) seal(e *engine.Entry) (storedEntry, error) {
	if c.sealer == nil || e.Start == nil || len(e.Start.Headers) == 0 {
		return storedEntry{Entry: *e}, nil
	}
	plain, err := json.Marshal(e.Start.Headers)
	if err != nil {
		return storedEntry{}, err
	}
	sealed, err := c.sealer.Seal(plain)
	if err != nil {
		return storedEntry{}, fmt.Errorf("seal start headers: %w", err)
	}
	start := *e.Start
	start.Headers = nil
	out := storedEntry{Entry: *e, SealedHeaders: sealed}
	out.Start = &start
	return out, nil
}

// decode returns the entries of a stored row as stored (void ones
// included, headers still sealed).
func (c *journalCodec) decode(data []byte) ([]storedEntry, error) {
	if len(data) > 0 && data[0] == s2Row {
		n, err := s2.DecodedLen(data[1:])
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		if n > maxJournalRow {
			return nil, fmt.Errorf("decompress: the row claims %d bytes, more than the %d a row may hold", n, maxJournalRow)
		}
		if data, err = s2.Decode(nil, data[1:]); err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) > 0 && data[0] == '[' {
		var out []storedEntry
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
	var one storedEntry
	if err := json.Unmarshal(data, &one); err != nil {
		return nil, err
	}
	return []storedEntry{one}, nil
}

// open returns a stored entry with its start headers opened.
func (c *journalCodec) open(se storedEntry) (engine.Entry, error) {
	if se.SealedHeaders == "" {
		return se.Entry, nil
	}
	if c.sealer == nil {
		return engine.Entry{}, fmt.Errorf("the entry's headers are sealed and no key is configured")
	}
	plain, err := c.sealer.Open(se.SealedHeaders)
	if err != nil {
		return engine.Entry{}, fmt.Errorf("start headers: %w (was orchestrator.secretsKey changed?)", err)
	}
	if se.Start != nil {
		start := *se.Start
		if err := json.Unmarshal(plain, &start.Headers); err != nil {
			return engine.Entry{}, err
		}
		se.Start = &start
	}
	return se.Entry, nil
}

// JournalRowJSON returns the JSON array of entries a stored journal row
// (orchestrator_journal.entry) holds, whichever way it was stored; start
// headers stay sealed. It is meant for inspecting a database.
func JournalRowJSON(row []byte) ([]byte, error) {
	entries, err := newJournalCodec(nil, false).decode(row)
	if err != nil {
		return nil, err
	}
	return json.Marshal(entries)
}
