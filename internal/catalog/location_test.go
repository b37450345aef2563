package catalog

import (
	"strings"
	"testing"
)

func TestParseLocationRef(t *testing.T) {
	tests := []struct {
		in      string
		want    LocationSpec
		wantErr string
	}{
		{in: "url:https://github.com/a/b/blob/main/catalog-info.yaml", want: LocationSpec{Type: "url", Target: "https://github.com/a/b/blob/main/catalog-info.yaml"}},
		{in: " file : /tmp/x.yaml ", want: LocationSpec{Type: "file", Target: "/tmp/x.yaml"}},
		{in: "https://example.com/x.yaml", wantErr: "please prefix it with 'url:'"},
		{in: "url:", wantErr: "not on the form"},
		{in: ":x", wantErr: "not on the form"},
		{in: "nocolon", wantErr: "not on the form"},
		{in: "url:javascript:alert(1)", wantErr: "javascript"},
		{in: "url: \tjava\nscript:alert(1)", wantErr: "javascript"},
	}
	for _, tt := range tests {
		got, err := ParseLocationRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseLocationRef(%q) = %+v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLocationRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if again, _ := ParseLocationRef(got.String()); again != got {
			t.Errorf("String() does not round-trip: %q", got.String())
		}
	}
}
