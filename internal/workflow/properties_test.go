package workflow

import "testing"

func TestParseProperties(t *testing.T) {
	env := map[string]string{"HOST": "api.example.com", "LOOP": "${HOST}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got := ParseProperties([]byte(`
# a comment
! another comment
quarkus.rest-client.jira.url=https://${HOST}/rest
kogito.sw.functions.greet.port = ${PORT:8080}
colon.form: value
unresolved=${MISSING}
loop=${LOOP}
`), lookup)
	want := map[string]string{
		"quarkus.rest-client.jira.url":   "https://api.example.com/rest",
		"kogito.sw.functions.greet.port": "8080",
		"colon.form":                     "value",
		"unresolved":                     "${MISSING}",
		// A value is expanded once, never re-expanded (no loops).
		"loop": "${HOST}",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
