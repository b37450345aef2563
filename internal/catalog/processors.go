package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/errs"
)

// SourceReader is the LocationReader for every location type Sources
// knows: it reads the files a location names, splits them into YAML
// documents and emits each document as an entity.
type SourceReader struct {
	Sources *Sources
}

// Name implements Processor.
func (r *SourceReader) Name() string { return "SourceReader" }

// ReadLocation implements LocationReader.
func (r *SourceReader) ReadLocation(ctx context.Context, loc LocationSpec, optional bool, emit Emitter) (bool, error) {
	if !r.Sources.Handles(loc.Type) {
		return false, nil
	}
	// The refresh key lets the file watcher and refresh requests find the
	// entity that reads this location, glob or not.
	emit.EmitRefresh(loc.String())
	r.Sources.noteRead(loc)
	files, err := r.Sources.ReadAll(ctx, loc)
	if err != nil {
		if optional && errs.KindOf(err) == errs.NotFound {
			return true, nil
		}
		emit.EmitError(loc, err)
		return true, nil
	}
	// Files are parsed on every core, a few ahead of the one being
	// emitted, and emitted in order: a large glob's YAML was parsed on one
	// core while everything else waited (9 s of a 100k-entity load), and a
	// window rather than the whole glob keeps the entities held at once
	// few.
	type item struct {
		e   *Entity
		err error
	}
	parse := func(f SourceFile) []item {
		data, err := f.Content()
		if err != nil {
			return []item{{err: err}}
		}
		docs, err := ParseYAML(data)
		if err != nil {
			return []item{{err: fmt.Errorf("%s: %w", f.Location, err)}}
		}
		items := make([]item, 0, len(docs))
		for _, d := range docs {
			e, err := d.Entity()
			if err != nil {
				err = fmt.Errorf("%s, document at line %d: %w", f.Location, d.Line, err)
			}
			items = append(items, item{e, err})
		}
		return items
	}
	window := 2 * max(1, runtime.GOMAXPROCS(0))
	pending := make([]chan []item, len(files))
	sem := make(chan struct{}, window)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(i int) {
		pending[i] = make(chan []item, 1)
		f := files[i]
		// Let each file's bytes go once parsed: a glob can name thousands.
		files[i] = SourceFile{Location: f.Location}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			pending[i] <- parse(f)
		})
	}
	started := 0
	for i, f := range files {
		for started < len(files) && started <= i+window {
			start(started)
			started++
		}
		for _, it := range <-pending[i] {
			if it.err != nil {
				emit.EmitError(f.Location, it.err)
				continue
			}
			emit.EmitEntity(f.Location, it.e, nil)
		}
		pending[i] = nil
	}
	return true, nil
}

// PlaceholderProcessor resolves $text, $json and $yaml placeholders: an
// object whose only key is one of them is replaced by the content of the
// file or URL it names, relative to the entity's location.
type PlaceholderProcessor struct {
	Sources *Sources
}

// Name implements Processor.
func (p *PlaceholderProcessor) Name() string { return "PlaceholderProcessor" }

// Priority makes placeholders resolve before anything looks at the entity.
func (p *PlaceholderProcessor) Priority() int { return 10 }

// PreProcessEntity implements PreProcessor.
func (p *PlaceholderProcessor) PreProcessEntity(ctx context.Context, e *Entity, loc LocationSpec, emit Emitter) (*Entity, error) {
	v := e.Value()
	if !hasPlaceholder(v) {
		return e, nil
	}
	resolved, err := p.resolve(ctx, v, loc, emit)
	if err != nil {
		return nil, err
	}
	out, err := DecodeEntity(resolved)
	if err != nil {
		return nil, err
	}
	out.order = e.order
	return out, nil
}

func placeholderKey(m map[string]any) (string, bool) {
	if len(m) != 1 {
		return "", false
	}
	for k := range m {
		switch k {
		case "$text", "$json", "$yaml":
			return k, true
		}
	}
	return "", false
}

func hasPlaceholder(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := placeholderKey(v); ok {
			return true
		}
		for _, x := range v {
			if hasPlaceholder(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasPlaceholder(x) {
				return true
			}
		}
	}
	return false
}

func (p *PlaceholderProcessor) resolve(ctx context.Context, v any, loc LocationSpec, emit Emitter) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if k, ok := placeholderKey(v); ok {
			return p.resolveOne(ctx, k, v[k], loc, emit)
		}
		out := make(map[string]any, len(v))
		for key, x := range v {
			r, err := p.resolve(ctx, x, loc, emit)
			if err != nil {
				return nil, err
			}
			out[key] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			r, err := p.resolve(ctx, x, loc, emit)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func (p *PlaceholderProcessor) resolveOne(ctx context.Context, key string, arg any, loc LocationSpec, emit Emitter) (any, error) {
	target, ok := arg.(string)
	if !ok || target == "" {
		return nil, errs.InputErrorf("placeholder %s expects a non-empty string (a path or URL), got %s", key, describe(arg))
	}
	src, err := p.Sources.Resolve(loc, target)
	if err != nil {
		return nil, err
	}
	// The refresh key comes first so a missing file is watched too.
	emit.EmitRefresh(src.String())
	p.Sources.noteRead(src)
	data, err := p.Sources.Read(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("placeholder %s %q: %w", key, target, err)
	}
	switch key {
	case "$json":
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var out any
		if err := d.Decode(&out); err != nil {
			return nil, errs.InputErrorf("placeholder $json %q: %s is not valid JSON: %v", target, src, err)
		}
		return out, nil
	case "$yaml":
		docs, err := ParseYAML(data)
		if err != nil {
			return nil, fmt.Errorf("placeholder $yaml %q: %w", target, err)
		}
		if len(docs) == 0 {
			return nil, nil
		}
		if docs[0].Err != nil {
			return nil, fmt.Errorf("placeholder $yaml %q: %w", target, docs[0].Err)
		}
		return docs[0].Value, nil
	default:
		return string(data), nil
	}
}

// AnnotateLocationProcessor adds the source-location, view-url and edit-url
// annotations of entities read from URLs; values the author wrote win.
type AnnotateLocationProcessor struct {
	// Sources, when set, resolve the source location ("./" beside the
	// file) as the integrations do: a GitHub directory is a /tree/ URL,
	// as Backstage writes it.
	Sources *Sources
}

// Name implements Processor.
func (AnnotateLocationProcessor) Name() string { return "AnnotateLocationEntityProcessor" }

// PreProcessEntity implements PreProcessor.
func (p AnnotateLocationProcessor) PreProcessEntity(_ context.Context, e *Entity, loc LocationSpec, _ Emitter) (*Entity, error) {
	if loc.Type != "url" {
		return e, nil
	}
	u, err := url.Parse(loc.Target)
	if err != nil {
		return e, nil
	}
	if e.Metadata.Annotations == nil {
		e.Metadata.Annotations = map[string]string{}
	}
	dir := *u
	dir.RawQuery, dir.Fragment = "", ""
	dir.Path = path.Dir(u.Path) + "/"
	source := dir.String()
	if p.Sources != nil {
		if r, err := p.Sources.integ.Resolve(loc.Target, "./"); err == nil {
			source = r
		}
	}
	set := func(k, v string) {
		if _, ok := e.Metadata.Annotations[k]; !ok {
			e.Metadata.Annotations[k] = v
		}
	}
	set(AnnotationViewURL, loc.Target)
	set(AnnotationSourceLocation, "url:"+source)
	// GitHub and GitLab blob URLs have an edit form; commit hashes do not.
	if strings.Contains(u.Path, "/blob/") {
		set(AnnotationEditURL, strings.Replace(loc.Target, "/blob/", "/edit/", 1))
	} else if strings.Contains(u.Path, "/-/blob/") {
		set(AnnotationEditURL, strings.Replace(loc.Target, "/-/blob/", "/-/edit/", 1))
	}
	return e, nil
}
