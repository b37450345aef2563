package catalog_test

import (
	"net/url"
	"testing"

	"github.com/portico-dev/portico/internal/catalog"
)

func TestReadAllowAllows(t *testing.T) {
	for _, c := range []struct {
		allow catalog.ReadAllow
		url   string
		want  bool
	}{
		{catalog.ReadAllow{Host: "example.com"}, "https://example.com/a.yaml", true},
		{catalog.ReadAllow{Host: "example.com"}, "https://EXAMPLE.com/a.yaml", true},
		{catalog.ReadAllow{Host: "example.com"}, "https://example.com:8443/a.yaml", true},
		{catalog.ReadAllow{Host: "localhost:8080"}, "http://localhost:8080/a", true},
		{catalog.ReadAllow{Host: "localhost:8080"}, "http://localhost:9090/a", false},
		{catalog.ReadAllow{Host: "*.example.com"}, "https://git.Example.com/a", true},
		{catalog.ReadAllow{Host: "*.example.com"}, "https://example.com/a", false},
		{catalog.ReadAllow{Host: "*.example.com"}, "https://badexample.com/a", false},
		{catalog.ReadAllow{Host: "example.com", Paths: []string{"/org/"}}, "https://example.com/org/x.yaml", true},
		{catalog.ReadAllow{Host: "example.com", Paths: []string{"/org/"}}, "https://example.com/other/x.yaml", false},
		{catalog.ReadAllow{Host: "example.com", Paths: []string{"/org/"}}, "https://example.com/org/../other/x.yaml", false},
		{catalog.ReadAllow{Host: "other.com"}, "https://example.com/a", false},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.allow.Allows(u); got != c.want {
			t.Errorf("%+v allows %s = %v, want %v", c.allow, c.url, got, c.want)
		}
	}
}
