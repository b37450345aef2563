package workflow

import (
	"strconv"
	"strings"
)

// Severity says whether a finding stops a workflow from being used.
type Severity int

// Severities.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Finding is one problem in a definition: where it is and how to fix it.
type Finding struct {
	Severity Severity
	File     string
	Line     int    // 0 when unknown
	Path     string // JSON path such as "states[1].transition"; empty for the whole file
	Message  string
}

// String formats the finding as "file:line: path: message", with
// "warning: " before the path for warnings.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	if f.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
	}
	b.WriteString(": ")
	if f.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if f.Path != "" {
		b.WriteString(f.Path)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// HasErrors reports whether any finding is an error.
func HasErrors(findings []Finding) bool {
	for _, f := range findings {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// ParseError is returned by Parse when a definition cannot be read into a
// Workflow. It lists every problem found, not just the first.
type ParseError struct {
	Findings []Finding
}

// Error lists the findings, one per line.
func (e *ParseError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// parentPath drops the last element of a JSON path:
// "states[1].transition" -> "states[1]" -> "states" -> "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// joinPath appends an object key to a JSON path, quoting keys that would
// make the path ambiguous.
func joinPath(p, key string) string {
	if !plainKey(key) {
		key = "[" + strconv.Quote(key) + "]"
		return p + key
	}
	if p == "" {
		return key
	}
	return p + "." + key
}

func indexPath(p string, i int) string {
	return p + "[" + strconv.Itoa(i) + "]"
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
