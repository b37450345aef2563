// RelationsGraph draws an entity and its direct relations as a small SVG
// graph: the entity in the middle, related entities on a circle around it,
// each edge labelled with the relation type. Nodes are links.
import { entityPath, humanRef, parseRef, type EntityRelation } from '../api/catalog';
import { useNavigate } from '../router';

export interface GraphNode {
  ref: string;
  x: number;
  y: number;
  types: string[];
}

/** layoutRelations places each distinct related entity on a circle around the centre. */
export function layoutRelations(relations: EntityRelation[], width: number, height: number): GraphNode[] {
  const byRef = new Map<string, string[]>();
  for (const r of relations) {
    const ref = r.targetRef.toLowerCase();
    const types = byRef.get(ref) ?? [];
    if (!types.includes(r.type)) types.push(r.type);
    byRef.set(ref, types);
  }
  const refs = [...byRef.keys()].sort();
  const cx = width / 2;
  const cy = height / 2;
  const rx = width / 2 - 110;
  const ry = height / 2 - 40;
  return refs.map((ref, i) => {
    // Clockwise from the top. With a multiple of four, start half a step
    // on, so that no node sits level with the centre node and hides its edge.
    const offset = refs.length % 4 === 0 ? Math.PI / refs.length : 0;
    const angle = -Math.PI / 2 + offset + (2 * Math.PI * i) / refs.length;
    return { ref, x: cx + rx * Math.cos(angle), y: cy + ry * Math.sin(angle), types: byRef.get(ref)! };
  });
}

const kindTone: Record<string, string> = {
  component: 'var(--primary)',
  api: 'var(--success)',
  group: 'var(--warning)',
  user: 'var(--warning)',
  system: 'var(--info)',
  domain: 'var(--info)',
  resource: 'var(--danger)',
};

function label(ref: string): string {
  const s = humanRef(ref);
  return s.length > 26 ? s.slice(0, 25) + '…' : s;
}

export function RelationsGraph({ entityRef, relations }: { entityRef: string; relations: EntityRelation[] }) {
  const navigate = useNavigate();
  const width = 640;
  const count = new Set(relations.map((r) => r.targetRef.toLowerCase())).size;
  const height = Math.max(260, Math.min(600, 160 + count * 40));
  const nodes = layoutRelations(relations, width, height);
  const cx = width / 2;
  const cy = height / 2;
  return (
    <svg
      className="relations-graph"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Relations of ${humanRef(entityRef)}: ${nodes.map((n) => `${n.types.join(', ')} ${humanRef(n.ref)}`).join('; ')}`}
    >
      {nodes.map((n) => (
        <g key={`edge-${n.ref}`}>
          <line x1={cx} y1={cy} x2={n.x} y2={n.y} className="edge" />
          <text x={cx + (n.x - cx) * 0.6} y={cy + (n.y - cy) * 0.6 - 4} className="edge-label" textAnchor="middle">
            {n.types.join(', ')}
          </text>
        </g>
      ))}
      {nodes.map((n) => {
        const kind = parseRef(n.ref).kind.toLowerCase();
        return (
          <a
            key={n.ref}
            href={entityPath(n.ref)}
            onClick={(e) => {
              e.preventDefault();
              navigate(entityPath(n.ref));
            }}
            aria-label={`${n.types.join(', ')}: ${n.ref}`}
          >
            <rect x={n.x - 95} y={n.y - 16} width={190} height={32} rx={16} className="node" style={{ stroke: kindTone[kind] ?? 'var(--border)' }} />
            <text x={n.x} y={n.y + 5} textAnchor="middle" className="node-label">
              {label(n.ref)}
            </text>
          </a>
        );
      })}
      <rect x={cx - 115} y={cy - 18} width={230} height={36} rx={18} className="node node-self" />
      <text x={cx} y={cy + 5} textAnchor="middle" className="node-label node-self-label">
        {label(entityRef)}
      </text>
    </svg>
  );
}
