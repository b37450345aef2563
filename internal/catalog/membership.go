package catalog

import (
	"context"
	"fmt"
)

// maxGroupDepth bounds the walk up the group tree when the caller sets no
// bound, so that a cycle of childOf relations (a parent that is its own
// descendant) ends.
const maxGroupDepth = 32

// GroupsOf returns the groups userRef is a member of (memberOf relations)
// and their ancestors (childOf relations) up to maxDepth levels above them;
// a negative maxDepth follows every level. Permission policies give users
// the roles of these groups. It reads the relations that processing
// stored, in one query, so a membership counts as soon as the entity
// stating it is processed. Groups come nearest first, then by ref.
func (s *Service) GroupsOf(ctx context.Context, userRef string, maxDepth int) ([]string, error) {
	ref, err := ParseRef(userRef, RefDefaults{Kind: "user"})
	if err != nil {
		return nil, err
	}
	if maxDepth < 0 || maxDepth > maxGroupDepth {
		maxDepth = maxGroupDepth
	}
	rows, err := s.db.QueryPrepared(ctx, `WITH RECURSIVE up(ref, depth) AS (
    SELECT target_entity_ref, 0 FROM catalog_relations
    WHERE source_entity_ref = $1 AND type = '`+RelationMemberOf+`'
  UNION
    SELECT r.target_entity_ref, up.depth + 1 FROM up JOIN catalog_relations r ON r.source_entity_ref = up.ref
    WHERE r.type = '`+RelationChildOf+`' AND up.depth < $2
)
SELECT ref, MIN(depth) AS depth FROM up WHERE ref LIKE 'group:%' GROUP BY ref ORDER BY depth, ref`, ref.String(), maxDepth)
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", ref, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var group string
		var depth int
		if err := rows.Scan(&group, &depth); err != nil {
			return nil, fmt.Errorf("groups of %s: %w", ref, err)
		}
		out = append(out, group)
	}
	return out, rows.Err()
}
