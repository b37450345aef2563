package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the portico binary: when PORTICO_TEST_AS_MAIN
// is set it runs main with its arguments, so tests can start real portico
// processes and send them real signals without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PORTICO_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// portico returns a command that runs portico with args.
func portico(t testing.TB, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORTICO_TEST_AS_MAIN=1", "PORTICO_CONFIG=")
	return cmd
}

// process is a running portico serve.
type process struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	// done is closed when the process has exited; err is then its result.
	done chan struct{}
	err  error
}

var listenLine = regexp.MustCompile(`\(address ([^)]+)\)`)

// startServe starts portico serve with the given config files and waits for
// its listening line.
func startServe(t testing.TB, dir string, args ...string) *process {
	t.Helper()
	cmd := portico(t, dir, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &stderr, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case addr := <-found:
		p.addr = strings.Replace(addr, "[::]", "127.0.0.1", 1)
	case <-p.done:
		t.Fatalf("portico exited early: %v\n%s", p.err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("portico did not start within 20s\n%s", stderr.String())
	}
	return p
}

func writeConfig(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeRefusesBadConfigWithOneLine(t *testing.T) {
	dir := t.TempDir()
	base := "backend:\n  listen: {host: 127.0.0.1, port: 0}\n  dataDirectory: " + filepath.Join(dir, "data") + "\n"
	tests := []struct {
		name   string
		config string // "" means the file does not exist
		env    []string
		want   []string
	}{
		{"unreadable file", "", nil, []string{"missing.yaml", "cannot read config file"}},
		{"malformed YAML", "backend: [\n", nil, []string{"app-config.yaml", "invalid YAML"}},
		{"unknown database client", "backend:\n  database:\n    client: oracle\n", nil, []string{"backend.database.client", `"oracle"`}},
		{"unreachable database", "backend:\n  database:\n    client: pg\n    connection: postgres://nobody@127.0.0.1:1/x?connect_timeout=2\n", nil,
			[]string{"backend.database.connection", "app-config.yaml", "check that PostgreSQL is running"}},
		{"invalid port", "backend:\n  listen:\n    port: abc\n", nil, []string{`backend.listen.port: expected a number, got "abc"`, "app-config.yaml:3"}},
		{"missing environment variable", "backend:\n  baseUrl: ${PORTICO_TEST_UNSET_VARIABLE}\n", nil,
			[]string{"backend.baseUrl", "PORTICO_TEST_UNSET_VARIABLE is not set", "app-config.yaml:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			basePath := writeConfig(t, dir, "base.yaml", base)
			cfg := filepath.Join(dir, "missing.yaml")
			if tt.config != "" {
				cfg = writeConfig(t, t.TempDir(), "app-config.yaml", tt.config)
			}
			cmd := portico(t, dir, "serve", "--config", basePath, "--config", cfg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit = %v, want exit code 1; stderr:\n%s", err, stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 {
				t.Errorf("want one line on stderr, got:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr %q does not mention %q", out, w)
				}
			}
		})
	}
}

// slowBody sends its content in pieces, so that the request is still in
// flight when the server is told to stop.
type slowBody struct {
	parts [][]byte
	sent  chan struct{}
	once  bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.parts) == 0 {
		return 0, io.EOF
	}
	if !b.once {
		b.once = true
		close(b.sent)
	} else {
		time.Sleep(200 * time.Millisecond)
	}
	n := copy(p, b.parts[0])
	b.parts = b.parts[1:]
	return n, nil
}

func TestServeFinishesInFlightRequestsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "app-config.yaml", "backend:\n  listen: {host: 127.0.0.1, port: 0}\n  dataDirectory: "+
		filepath.Join(dir, "data")+"\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: true\n")
	p := startServe(t, dir, "--config", cfg)

	body := `{"items":[{"id":"1","permission":{"type":"basic","name":"catalog.entity.read"}}]}`
	sb := &slowBody{sent: make(chan struct{})}
	for i := 0; i < len(body); i += 20 {
		sb.parts = append(sb.parts, []byte(body[i:min(i+20, len(body))]))
	}
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/api/permission/authorize", sb)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-sb.sent
	time.Sleep(100 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"result":"ALLOW"`) {
		t.Fatalf("in-flight request during SIGTERM: status %d body %q err %v\n%s", r.status, r.body, r.err, p.stderr.String())
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("portico exited with %v after SIGTERM\n%s", p.err, p.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("portico did not exit within 10s of SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Errorf("no clean-stop log line:\n%s", p.stderr.String())
	}
}

func TestVersion(t *testing.T) {
	out, err := portico(t, t.TempDir(), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^portico \S+ \(commit \S+, go1\.\d+`).Match(out) {
		t.Fatalf("version output %q", out)
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "app-config.yaml", "backend:\n  dataDirectory: "+filepath.Join(dir, "data")+"\n")
	out, err := portico(t, dir, "migrate", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "applied auth/0001_keys") {
		t.Errorf("first migrate did not apply the auth tables:\n%s", out)
	}
	out, err = portico(t, dir, "migrate", "--status", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "up to date") {
		t.Errorf("status after migrate:\n%s", out)
	}
}
