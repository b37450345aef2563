package orchestratorapi

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// deployed is the lookup of the result tests: greeting and approval are
// deployed, approval is not readable by the caller.
func deployed(id string) (bool, string, bool) {
	switch id {
	case "greeting":
		return true, CategoryInfrastructure, true
	case "approval":
		return false, CategoryInfrastructure, true
	}
	return false, "", false
}

// TestParseResult reads instance data under the WorkflowResult convention
// and the older workflowOptions object; each case's output is a golden file.
func TestParseResult(t *testing.T) {
	for _, name := range []string{"result", "workflow-options", "malformed", "none"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "results", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var data any
			if err := json.Unmarshal(in, &data); err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(parseResult(data, "assessment-1", deployed), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "results", name+".golden")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCategory(t *testing.T) {
	for _, tc := range []struct {
		annotations []string
		want        string
	}{
		{nil, CategoryInfrastructure},
		{[]string{"workflow-type/infrastructure"}, CategoryInfrastructure},
		{[]string{"other", "workflow-type/assessment"}, CategoryAssessment},
	} {
		if got := Category(tc.annotations); got != tc.want {
			t.Errorf("Category(%v) = %q, want %q", tc.annotations, got, tc.want)
		}
	}
}

// TestFilterErrors checks that a bad filter names the field at fault.
func TestFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   string
	}{
		{`{"field": "processId", "operator": "EQ", "value": ["a", "b"]}`, "filters.value: EQ takes one value, not a list"},
		{`{"field": "processId", "operator": "BETWEEN", "value": ["a"]}`, "filters.value: BETWEEN takes two values"},
		{`{"field": "end", "operator": "IS_NULL", "value": "maybe"}`, "filters.value: IS_NULL takes true or false"},
		{`{"field": "processId", "operator": "LIKE", "value": 3}`, "filters.value: LIKE takes a string"},
		{`{"field": "id", "operator": "EQ", "value": {"a": 1}}`, "filters.value: must be a string, number or boolean"},
		{`{"field": "processId", "operator": "EQ"}`, "filters.value: missing value"},
		{`{"operator": "OR", "filters": [{"field": "id", "operator": "EQ", "value": "x"}, {"field": "id"}]}`, "filters.filters[1].operator: missing"},
		{`{"operator": "NOT", "filters": [{"field": "id", "operator": "EQ", "value": "x"}, {"field": "id", "operator": "EQ", "value": "y"}]}`, "NOT takes exactly one filter"},
		{`{"operator": "XOR", "filters": [{"field": "id", "operator": "EQ", "value": "x"}]}`, "filters.operator: a filter with filters must be AND, OR or NOT"},
		{`{"field": "processName", "nested": {"field": "x", "operator": "EQ", "value": 1}}`, `filters.field: only "variables" takes a nested filter`},
		{`{"operator": "EQ", "value": 1}`, "filters.field: missing"},
	} {
		var f Filter
		if err := json.Unmarshal([]byte(tc.filter), &f); err != nil {
			t.Fatal(err)
		}
		_, err := instanceCond(&f, "filters")
		if err == nil || errs.KindOf(err) != errs.Input || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want an InputError with %q", tc.filter, err, tc.want)
		}
	}
}

// TestOverviewFilter evaluates workflow filters in memory.
func TestOverviewFilter(t *testing.T) {
	o := &WorkflowOverview{WorkflowID: "greeting", Name: "Greeting workflow", Category: CategoryInfrastructure, LastRunStatus: "COMPLETED", LastTriggeredMs: 1000, Format: "yaml"}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`{"field": "name", "operator": "LIKE", "value": "greet*"}`, true},
		{`{"field": "name", "operator": "LIKE", "value": "%WORKFLOW"}`, true},
		{`{"field": "name", "operator": "LIKE", "value": "work"}`, false},
		{`{"field": "id", "operator": "IN", "value": ["a", "greeting"]}`, true},
		{`{"field": "lastTriggeredMs", "operator": "GT", "value": 999}`, true},
		{`{"field": "lastTriggeredMs", "operator": "BETWEEN", "value": {"from": 0, "to": 10}}`, false},
		{`{"field": "description", "operator": "IS_NULL", "value": true}`, true},
		{`{"field": "version", "operator": "EQ", "value": "1.0"}`, true},
		{`{"operator": "NOT", "filters": [{"field": "category", "operator": "EQ", "value": "assessment"}]}`, true},
		{`{"operator": "AND", "filters": [{"field": "format", "operator": "EQ", "value": "yaml"}, {"field": "lastRunStatus", "operator": "EQ", "value": "ERROR"}]}`, false},
	} {
		var f Filter
		if err := json.Unmarshal([]byte(tc.filter), &f); err != nil {
			t.Fatal(err)
		}
		c, err := overviewCond(&f, "filters")
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := c.match(o, "1.0"); got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestHumanize(t *testing.T) {
	for _, tc := range []struct {
		secs float64
		want string
	}{
		{3, "a few seconds"}, {60, "a minute"}, {300, "5 minutes"}, {3600, "an hour"}, {5 * 3600, "5 hours"},
		{30 * 3600, "a day"}, {3 * 86400, "3 days"}, {40 * 86400, "a month"}, {400 * 86400, "a year"}, {800 * 86400, "2 years"},
	} {
		if got := humanize(secondsDuration(tc.secs)); got != tc.want {
			t.Errorf("humanize(%vs) = %q, want %q", tc.secs, got, tc.want)
		}
	}
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
