package jsonorder

import "go.yaml.in/yaml/v3"

// OrderLikeYAML puts the keys of v's objects in the order the YAML node n
// (the document v was converted from) lists them, in place. The values
// stay v's own, so a conversion with its own rules for YAML's types (tags,
// numbers, merge keys) keeps them; only the order comes from n. Keys n does
// not list (merged with "<<", for one) follow in their present order. The
// walk follows v, so aliases in n cost no more than the values they became.
func OrderLikeYAML(v any, n *yaml.Node) {
	orderLike(v, n, 0)
}

func orderLike(v any, n *yaml.Node, depth int) {
	if n == nil || depth > MaxDepth {
		return
	}
	for n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				return
			}
			n = n.Content[0]
		} else if n = n.Alias; n == nil {
			return
		}
	}
	switch t := v.(type) {
	case *Object:
		if t == nil || n.Kind != yaml.MappingNode {
			return
		}
		keys := make([]string, 0, len(t.keys))
		placed := make(map[string]bool, len(t.keys))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, ok := t.vals[k]; !ok || placed[k] {
				continue
			}
			keys = append(keys, k)
			placed[k] = true
			orderLike(t.vals[k], n.Content[i+1], depth+1)
		}
		for _, k := range t.keys {
			if !placed[k] {
				keys = append(keys, k)
			}
		}
		t.keys = keys
	case []any:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i := range min(len(t), len(n.Content)) {
			orderLike(t[i], n.Content[i], depth+1)
		}
	}
}
