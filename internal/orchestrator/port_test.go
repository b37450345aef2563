package orchestrator_test

import (
	"net/http"
	"testing"
)

// With orchestrator.runtimeApi.listen the runtime API also answers on a
// port of its own without credentials, while the main port keeps asking
// for them and the portal's own API stays off the internal port.
func TestRuntimeAPIOnItsOwnPort(t *testing.T) {
	s := startConfig(t, `
orchestrator:
  workflows: ["embedded:workflows"]
  runtimeApi:
    listen: {host: 127.0.0.1, port: 0}
`, false)
	port := s.App.Env().Port("orchestrator.runtimeApi.listen")
	if port == nil || port.Addr() == nil {
		t.Fatal("the runtime API port is not listening")
	}
	inst := *s.Instance
	inst.URL = "http://" + port.Addr().String()
	internal := &server{Instance: &inst, db: s.db}
	body := map[string]any{"language": "English"}
	if r := s.do(t, "POST", "/greeting", body); r.status != http.StatusUnauthorized {
		t.Errorf("main port without credentials: %d %s", r.status, r.raw)
	}
	r := internal.do(t, "POST", "/greeting", body)
	if r.status != http.StatusCreated {
		t.Fatalf("runtime port: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	if r := internal.do(t, "GET", "/management/processes/greeting/instances/"+id+"/nodeInstances", nil); r.status != http.StatusOK {
		t.Errorf("management route on the runtime port: %d %s", r.status, r.raw)
	}
	for _, path := range []string{"/api/catalog/entities", "/healthcheck", "/metrics"} {
		if r := internal.do(t, "GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s on the runtime port: %d", path, r.status)
		}
	}
	if r := internal.do(t, "GET", "/q/health/ready", nil); r.status != http.StatusOK {
		t.Errorf("health on the runtime port: %d", r.status)
	}
}
