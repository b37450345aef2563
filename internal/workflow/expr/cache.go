package expr

import (
	"container/list"
	"sync"
)

// Cache keeps compiled expressions so that each distinct expression of a
// workflow is compiled once. It holds at most a fixed number of entries and
// drops the least recently used one when full. Compile failures are cached
// too: template evaluation asks again and again about plain text that is not
// an expression. A Cache is safe for concurrent use.
type Cache struct {
	size int

	mu    sync.Mutex
	items map[string]*list.Element
	order list.List // front = most recently used; values are *cacheEntry
}

type cacheEntry struct {
	key  string
	prog *program
	err  error
}

// NewCache returns a cache holding at most size compiled expressions
// (at least 1).
func NewCache(size int) *Cache {
	return &Cache{size: max(size, 1), items: make(map[string]*list.Element)}
}

// Compile is like the package's Compile but reuses an earlier result for
// the same text, variable names and functions. A nil *Cache compiles every
// time.
func (c *Cache) Compile(src string, opts ...Option) (*Expression, error) {
	cfg := newConfig(opts)
	return c.compile(src, &cfg)
}

func (c *Cache) compile(src string, cfg *config) (*Expression, error) {
	if c == nil {
		p, err := compile(src, cfg)
		if err != nil {
			return nil, err
		}
		return &Expression{src: src, prog: p, timeout: cfg.timeout}, nil
	}
	key := src + cfg.suffix
	var p *program
	var err error
	if e, ok := c.get(key); ok {
		p, err = e.prog, e.err
	} else {
		// Compiling outside the lock lets other expressions proceed; two
		// goroutines may compile the same text once each, which is harmless.
		p, err = compile(src, cfg)
		c.put(key, p, err)
	}
	if err != nil {
		return nil, err
	}
	return &Expression{src: src, prog: p, timeout: cfg.timeout}, nil
}

// Len returns the number of cached entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Cache) get(key string) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry), true
}

func (c *Cache) put(key string, p *program, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, prog: p, err: err})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
}
