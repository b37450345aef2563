package catalog

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
)

// packAfter is how many children an entity keeps as plain JSON before the
// JSON of the older ones is compressed.
const packAfter = 512

// childRows are the children one processed entity emitted, held until
// they are stored. A location with a large glob emits tens of thousands:
// as plain JSON the 100k entities of the scale benchmark were about 160 MB
// of live heap (and twice that with the collector's headroom), most of the
// process's peak memory. Their JSON is therefore kept in one compressed
// stream (entity documents repeat each other's keys, so it shrinks several
// times over) once there are more than packAfter; refs, hashes and keys
// stay plain for the result hash and the reference bookkeeping.
type childRows struct {
	rows []deferredRow
	// The JSON of rows[:packed] is in zbuf, in order; theirs is nil.
	packed int
	zbuf   bytes.Buffer
	zw     *flate.Writer
	closed bool
	// lastKey lets children of one file share their location key's
	// string instead of holding a copy each.
	lastKey string
}

// add appends a child.
func (c *childRows) add(r deferredRow) error {
	if c.closed {
		return fmt.Errorf("child rows: add after reading")
	}
	if r.key.Valid {
		if r.key.String == c.lastKey {
			r.key.String = c.lastKey
		} else {
			c.lastKey = r.key.String
		}
	}
	c.rows = append(c.rows, r)
	if len(c.rows)-c.packed >= packAfter {
		return c.pack()
	}
	return nil
}

// pack moves the JSON of the rows not yet packed into the stream.
func (c *childRows) pack() error {
	if c.zw == nil {
		zw, err := flate.NewWriter(&c.zbuf, flate.BestSpeed)
		if err != nil {
			return err
		}
		c.zw = zw
	}
	var n [binary.MaxVarintLen64]byte
	for i := c.packed; i < len(c.rows); i++ {
		data := c.rows[i].json
		if _, err := c.zw.Write(n[:binary.PutUvarint(n[:], uint64(len(data)))]); err != nil {
			return err
		}
		if _, err := c.zw.Write(data); err != nil {
			return err
		}
		c.rows[i].json = nil
	}
	c.packed = len(c.rows)
	return nil
}

// len returns how many children there are.
func (c *childRows) len() int {
	if c == nil {
		return 0
	}
	return len(c.rows)
}

// each calls fn with consecutive parts of at most chunkSize children, with
// their JSON; a part's JSON is only valid during the call. After each, add
// fails.
func (c *childRows) each(fn func(part []deferredRow) error) error {
	if c.len() == 0 {
		return nil
	}
	var zr *bufio.Reader
	if c.zw != nil {
		if !c.closed {
			if err := c.zw.Close(); err != nil {
				return err
			}
		}
		zr = bufio.NewReader(flate.NewReader(bytes.NewReader(c.zbuf.Bytes())))
	}
	c.closed = true
	part := make([]deferredRow, 0, chunkSize)
	var buf []byte
	for start := 0; start < len(c.rows); start += chunkSize {
		part = append(part[:0], c.rows[start:min(start+chunkSize, len(c.rows))]...)
		// One buffer holds the part's packed JSON, so a part costs one
		// allocation at most.
		buf = buf[:0]
		var ends []int
		for i := range part {
			if start+i >= c.packed {
				break
			}
			n, err := binary.ReadUvarint(zr)
			if err != nil {
				return fmt.Errorf("child rows: %w", err)
			}
			at := len(buf)
			buf = append(buf, make([]byte, n)...)
			if _, err := io.ReadFull(zr, buf[at:]); err != nil {
				return fmt.Errorf("child rows: %w", err)
			}
			ends = append(ends, len(buf))
		}
		at := 0
		for i, end := range ends {
			part[i].json = buf[at:end:end]
			at = end
		}
		if err := fn(part); err != nil {
			return err
		}
	}
	return nil
}
