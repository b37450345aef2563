package orchestrator

import (
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// storedEntry is a journal entry as stored: the headers an instance
// started with carry bearer tokens (Authorization, X-Authorization-*), so
// they are kept sealed, never as plain JSON.
type storedEntry struct {
	engine.Entry
	SealedHeaders string `json:"sealedHeaders,omitempty"`
}

// encodeEntry turns an entry into its stored JSON, sealing start headers
// when a sealer is configured.
func encodeEntry(s *seal.Sealer, e *engine.Entry) (string, error) {
	if s == nil || e.Start == nil || len(e.Start.Headers) == 0 {
		data, err := json.Marshal(e)
		return string(data), err
	}
	plain, err := json.Marshal(e.Start.Headers)
	if err != nil {
		return "", err
	}
	sealed, err := s.Seal(plain)
	if err != nil {
		return "", fmt.Errorf("seal start headers: %w", err)
	}
	start := *e.Start
	start.Headers = nil
	out := storedEntry{Entry: *e, SealedHeaders: sealed}
	out.Start = &start
	data, err := json.Marshal(out)
	return string(data), err
}

// decodeEntry reads a stored entry, opening sealed start headers.
func decodeEntry(s *seal.Sealer, data []byte) (engine.Entry, error) {
	var se storedEntry
	if err := json.Unmarshal(data, &se); err != nil {
		return engine.Entry{}, err
	}
	if se.SealedHeaders == "" {
		return se.Entry, nil
	}
	if s == nil {
		return engine.Entry{}, fmt.Errorf("the entry's headers are sealed and no key is configured")
	}
	plain, err := s.Open(se.SealedHeaders)
	if err != nil {
		return engine.Entry{}, fmt.Errorf("start headers: %w (was orchestrator.secretsKey changed?)", err)
	}
	if se.Start != nil {
		if err := json.Unmarshal(plain, &se.Start.Headers); err != nil {
			return engine.Entry{}, err
		}
	}
	return se.Entry, nil
}
