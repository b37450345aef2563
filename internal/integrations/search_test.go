package integrations_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/integrations"
)

func TestSearch(t *testing.T) {
	gh, gl, set := fakes(t)
	ctx := t.Context()
	blob := gh.URL + "/acme/monorepo/blob/main/"
	for _, tc := range []struct {
		name, url string
		want      []string // paths below blob (GitHub) or the GitLab project's blob URL
	}{
		{"any depth", blob + "**/catalog-info.yaml", []string{"catalog-info.yaml", "services/billing/catalog-info.yaml", "services/deep/payments/catalog-info.yaml"}},
		{"one level", blob + "services/*/catalog-info.yaml", []string{"services/billing/catalog-info.yaml"}},
		{"any depth below a directory", blob + "services/**/*.yaml", []string{"services/billing/catalog-info.yaml", "services/deep/payments/catalog-info.yaml"}},
		{"question mark (escaped in a URL)", blob + "othe%3F.yaml", []string{"other.yaml"}},
		{"nothing matches", blob + "services/**/*.json", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := set.Search(ctx, tc.url, integrations.TreeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				rel, ok := strings.CutPrefix(f.URL, blob)
				if !ok {
					t.Fatalf("file URL %s is not below %s", f.URL, blob)
				}
				got = append(got, rel)
				if !strings.Contains(string(f.Data), "metadata") && !strings.HasSuffix(rel, "other.yaml") {
					t.Errorf("%s: data %q", rel, f.Data)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("matched %q, want %q", got, tc.want)
			}
		})
	}
	// The token went to the API only, the archive came from the download host.
	for _, r := range gh.DownloadRequests.Requests() {
		if r.Authorization != "" {
			t.Errorf("the download host got credentials: %+v", r)
		}
	}

	files, err := set.Search(ctx, gl.URL+"/platform/team/svc/-/blob/main/**/*.txt", integrations.TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].URL != gl.URL+"/platform/team/svc/-/blob/main/skeleton/hello.txt" {
		t.Fatalf("gitlab files = %+v", files)
	}

	for _, tc := range []struct {
		name, url string
		kind      errs.Kind
		want      string
	}{
		{"glob in the repository part", gh.URL + "/acme/*/blob/main/catalog-info.yaml", errs.Input, "only be in the path after the ref"},
		{"not an integration", "https://example.com/catalog/*.yaml", errs.Input, "only GitHub and GitLab"},
		{"bad pattern", blob + "services/[*/x.yaml", errs.Input, "invalid glob pattern"},
		{"missing directory", blob + "nothing/**/x.yaml", errs.NotFound, "no directory nothing"},
		{"bounds", blob + "**/*.yaml", errs.Input, "more than 2 files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := integrations.TreeOptions{}
			if tc.name == "bounds" {
				opts.MaxFiles = 2
			}
			_, err := set.Search(ctx, tc.url, opts)
			wantErr(t, err, tc.kind, tc.want)
		})
	}
	if !integrations.IsGlob(blob+"**/x.yaml") || integrations.IsGlob(blob+"x.yaml") {
		t.Error("IsGlob")
	}
}
