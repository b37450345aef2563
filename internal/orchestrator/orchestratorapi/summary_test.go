package orchestratorapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// summaryOf reads an instance's executionSummary from the v2 route.
func summaryOf(c client, id string) []string {
	c.t.Helper()
	var in struct {
		ExecutionSummary []string `json:"executionSummary"`
	}
	c.json("GET", "/v2/workflows/instances/"+id, "", 200, &in)
	return in.ExecutionSummary
}

// dataIndexSummary reads the same instance's executionSummary from the
// Data Index GraphQL, which the v2 API must agree with.
func dataIndexSummary(c client, id string) []string {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `{ProcessInstances (where: {id: {equal: "` + id + `"}}) {id, executionSummary}}`})
	var res struct {
		Data struct {
			ProcessInstances []struct {
				ExecutionSummary []string `json:"executionSummary"`
			}
		} `json:"data"`
	}
	c.json("POST", "/graphql", string(body), 200, &res)
	if len(res.Data.ProcessInstances) != 1 {
		c.t.Fatalf("Data Index: %d instances with id %s", len(res.Data.ProcessInstances), id)
	}
	return res.Data.ProcessInstances[0].ExecutionSummary
}

func TestV2ExecutionSummary(t *testing.T) {
	both(t, func(t *testing.T, postgres bool) {
		e := start(t, postgres)
		a := e.alice
		helloID := execute(a, "hello", `{"inputData": {"name": "Ann"}}`)
		failID := execute(a, "fail", `{"inputData": {}}`)
		sleepID := execute(a, "sleeper", `{}`)

		var hello instanceDTO
		a.json("GET", "/v2/workflows/instances/"+helloID, "", 200, &hello)
		startAt, _ := time.Parse(time.RFC3339Nano, hello.Start)
		endAt, _ := time.Parse(time.RFC3339Nano, hello.End)
		ms := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
		want := []string{"Workflow started at " + ms(startAt), "Workflow completed at " + ms(endAt)}
		if got := summaryOf(a, helloID); !slices.Equal(got, want) {
			t.Errorf("completed instance's summary = %q, want %q", got, want)
		}

		failed := summaryOf(a, failID)
		// One failure line per node in error (the action and its state).
		if len(failed) < 2 || !strings.HasPrefix(failed[1], "Workflow failed with error ") || !strings.Contains(failed[1], "127.0.0.1:9") {
			t.Errorf("failed instance's summary = %q, want its start and its failure", failed)
		}
		waiting := summaryOf(a, sleepID)
		if len(waiting) != 2 || !strings.HasPrefix(waiting[1], "Workflow waiting at node Sleep since ") {
			t.Errorf("sleeping instance's summary = %q, want its start and where it waits", waiting)
		}

		// The list routes carry the same summaries as the instance route
		// and the Data Index.
		var listed struct {
			Items []struct {
				ID               string   `json:"id"`
				ExecutionSummary []string `json:"executionSummary"`
			} `json:"items"`
		}
		a.json("POST", "/v2/workflows/instances", "", 200, &listed)
		if len(listed.Items) != 3 {
			t.Fatalf("listed %d instances, want 3", len(listed.Items))
		}
		for _, it := range listed.Items {
			one, gql := summaryOf(a, it.ID), dataIndexSummary(a, it.ID)
			if len(it.ExecutionSummary) == 0 || !slices.Equal(it.ExecutionSummary, one) || !slices.Equal(one, gql) {
				t.Errorf("%s: listed summary %q, instance route %q, Data Index %q: want one and the same", it.ID, it.ExecutionSummary, one, gql)
			}
		}
	})
}
