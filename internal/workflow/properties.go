package workflow

import (
	"bufio"
	"bytes"
	"strings"
)

// ParseProperties reads an application.properties file: key=value or
// key: value lines, # and ! comments, and Quarkus-style ${NAME:default}
// references to environment variables, read with lookup (os.LookupEnv).
func ParseProperties(b []byte, lookup func(string) (string, bool)) map[string]string {
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, _ = strings.Cut(line, ":")
		}
		props[strings.TrimSpace(k)] = ExpandEnv(strings.TrimSpace(v), lookup)
	}
	return props
}

// ExpandEnv expands ${NAME} and ${NAME:default} references with lookup;
// a reference without a value or a default is left as written, as Quarkus
// would fail on it only when the property is used.
func ExpandEnv(v string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			b.WriteString(v)
			return b.String()
		}
		b.WriteString(v[:i])
		ref := v[i+2 : i+j]
		name, def, hasDef := strings.Cut(ref, ":")
		if val, ok := lookup(name); ok {
			b.WriteString(val)
		} else if hasDef {
			b.WriteString(def)
		} else {
			b.WriteString(v[i : i+j+1])
		}
		v = v[i+j+1:]
	}
}
