package catalog

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errs"
)

func TestParseRef(t *testing.T) {
	xy := RefDefaults{Kind: "x", Namespace: "y"}
	tests := []struct {
		in       string
		defaults RefDefaults
		want     Ref
		wantErr  string // substring; empty means success
	}{
		// Values from Backstage's ref.test.ts.
		{in: "a:b/c", want: Ref{"a", "b", "c"}},
		{in: "a:c", want: Ref{"a", "default", "c"}},
		{in: "b/c", wantErr: "has no kind"},
		{in: "c", wantErr: "has no kind"},
		{in: "a:b/c", defaults: xy, want: Ref{"a", "b", "c"}},
		{in: "b/c", defaults: xy, want: Ref{"x", "b", "c"}},
		{in: "a:c", defaults: xy, want: Ref{"a", "y", "c"}},
		{in: "c", defaults: xy, want: Ref{"x", "y", "c"}},
		{in: "c", defaults: RefDefaults{Kind: "x"}, want: Ref{"x", "default", "c"}},
		// The name takes everything after the kind and namespace.
		{in: "a:b:c", want: Ref{"a", "default", "b:c"}},
		{in: "a:b/c/d", want: Ref{"a", "b", "c/d"}},
		{in: "a:b/c:d", want: Ref{"a", "b", "c:d"}},
		{in: "a/b/c", defaults: xy, want: Ref{"x", "a", "b/c"}},
		// A colon after the first slash does not start a kind.
		{in: "a/b:c", defaults: xy, want: Ref{"x", "a", "b:c"}},
		// Empty parts are errors, never defaulted.
		{in: ":b/c", defaults: xy, wantErr: "not on the form"},
		{in: "a:/c", defaults: xy, wantErr: "not on the form"},
		{in: "a:b/", defaults: xy, wantErr: "not on the form"},
		{in: "a:/", defaults: xy, wantErr: "not on the form"},
		{in: ":b/", defaults: xy, wantErr: "not on the form"},
		{in: ":/c", defaults: xy, wantErr: "not on the form"},
		{in: ":/", defaults: xy, wantErr: "not on the form"},
		{in: "/c", defaults: xy, wantErr: "not on the form"},
		{in: "b/", defaults: xy, wantErr: "not on the form"},
		{in: ":c", defaults: xy, wantErr: "not on the form"},
		{in: "a:", defaults: xy, wantErr: "not on the form"},
		{in: "", defaults: xy, wantErr: "must not be empty"},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in, tt.defaults)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRef(%q, %+v) = %+v, %v; want error containing %q", tt.in, tt.defaults, got, err, tt.wantErr)
			}
			if err != nil && !errs.Is(err, errs.Input) {
				t.Errorf("ParseRef(%q): error kind %s, want InputError", tt.in, errs.KindOf(err))
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRef(%q, %+v) = %+v, %v; want %+v", tt.in, tt.defaults, got, err, tt.want)
		}
	}
}

func TestRefStringAndEqual(t *testing.T) {
	r := Ref{Kind: "Component", Namespace: "Default", Name: "My-Service"}
	if got, want := r.String(), "component:default/my-service"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !r.Equal(Ref{"component", "default", "my-service"}) {
		t.Error("refs differing only in case should be equal")
	}
	if r.Equal(Ref{"component", "default", "other"}) {
		t.Error("refs with different names should differ")
	}
}

// FuzzParseRef checks that parsing never panics and that whatever parses
// keeps its meaning through the canonical string form.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"a:b/c", "c", "b/c", "a:c", "a:b:c", "a/b:c", ":/", "component:default/x/y", "ÄÖ:é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s, RefDefaults{Kind: "k", Namespace: "ns"})
		if err != nil {
			return
		}
		if r.Kind == "" || r.Namespace == "" || r.Name == "" {
			t.Fatalf("ParseRef(%q) = %+v with an empty part", s, r)
		}
		if strings.ContainsAny(r.Kind, ":/") || strings.Contains(r.Namespace, "/") {
			// Such refs cannot be written unambiguously; nothing to check.
			return
		}
		again, err := ParseRef(r.String(), RefDefaults{})
		if err != nil {
			t.Fatalf("ParseRef(%q) failed on its own canonical form %q: %v", s, r.String(), err)
		}
		if !again.Equal(r) {
			t.Fatalf("round trip of %q: %+v became %+v", s, r, again)
		}
	})
}
