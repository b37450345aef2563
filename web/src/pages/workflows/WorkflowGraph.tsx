// WorkflowGraph draws a workflow's states and transitions as SVG, marking
// the states an instance went through, the one it is in and the one that
// failed.
import { useMemo } from 'react';
import { endId, startId, type WorkflowGraph as Graph } from './graph';

export interface GraphMarks {
  /** States the instance entered. */
  visited: Set<string>;
  /** States it is in now (entered, not left). */
  current: Set<string>;
  /** The state that failed. */
  failed?: string;
  /** Whether the instance finished (the End node is then visited). */
  completed?: boolean;
}

const nodeW = 170;
const nodeH = 40;
const gapX = 40;
const gapY = 56;

/** WorkflowGraphView renders the graph, with marks when an instance is given. */
export function WorkflowGraphView({ graph, marks }: { graph: Graph; marks?: GraphMarks }) {
  const slotsPerLayer = useMemo(() => {
    const m = new Map<number, number>();
    for (const n of graph.nodes) m.set(n.layer, Math.max(m.get(n.layer) ?? 0, n.slot + 1));
    return m;
  }, [graph]);
  const width = Math.max(1, graph.width) * (nodeW + gapX) + gapX;
  const height = graph.layers * (nodeH + gapY) + gapY / 2;
  const pos = useMemo(() => {
    const p = new Map<string, { x: number; y: number }>();
    for (const n of graph.nodes) {
      const count = slotsPerLayer.get(n.layer) ?? 1;
      const rowWidth = count * nodeW + (count - 1) * gapX;
      const x0 = (width - rowWidth) / 2;
      p.set(n.id, { x: x0 + n.slot * (nodeW + gapX), y: gapY / 2 + n.layer * (nodeH + gapY) });
    }
    return p;
  }, [graph, slotsPerLayer, width]);

  const stateOf = (id: string): string => {
    if (!marks) return '';
    if (marks.failed === id) return 'failed';
    if (marks.current.has(id)) return 'current';
    if (marks.visited.has(id) || (id === startId && marks.visited.size > 0) || (id === endId && marks.completed)) return 'visited';
    return 'idle';
  };
  const edgeTaken = (from: string, to: string) => {
    const a = stateOf(from);
    const b = stateOf(to);
    return (a === 'visited' || a === 'failed') && b !== 'idle' && b !== '';
  };

  return (
    <div className="workflow-graph" role="img" aria-label="Workflow graph">
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`}>
        <defs>
          <marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="wf-arrowhead" />
          </marker>
          <marker id="wf-arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="wf-arrowhead taken" />
          </marker>
        </defs>
        {graph.edges.map((e, i) => {
          const a = pos.get(e.from);
          const b = pos.get(e.to);
          if (!a || !b) return null;
          const x1 = a.x + nodeW / 2;
          const y1 = a.y + nodeH;
          const x2 = b.x + nodeW / 2;
          let d: string;
          if (b.y > a.y) {
            const y2 = b.y;
            const my = (y1 + y2) / 2;
            d = `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`;
          } else {
            // A loop back: around the right-hand side.
            const side = Math.max(a.x, b.x) + nodeW + gapX / 2;
            d = `M ${a.x + nodeW} ${a.y + nodeH / 2} C ${side} ${a.y + nodeH / 2}, ${side} ${b.y + nodeH / 2}, ${b.x + nodeW} ${b.y + nodeH / 2}`;
          }
          const taken = marks ? edgeTaken(e.from, e.to) : false;
          return (
            <path
              key={i}
              d={d}
              className={`wf-edge wf-edge-${e.kind} ${taken ? 'taken' : ''}`}
              markerEnd={taken ? 'url(#wf-arrow-taken)' : 'url(#wf-arrow)'}
            >
              {e.label && <title>{e.label}</title>}
            </path>
          );
        })}
        {graph.nodes.map((n) => {
          const p = pos.get(n.id)!;
          const st = stateOf(n.id);
          const round = n.id === startId || n.id === endId;
          return (
            <g key={n.id} className={`wf-node wf-node-${st || 'plain'}`} data-state={st || undefined} data-node={n.label} transform={`translate(${p.x} ${p.y})`}>
              <title>
                {n.label} ({n.type}){st && st !== 'idle' ? ` — ${st}` : ''}
              </title>
              <rect width={nodeW} height={nodeH} rx={round ? nodeH / 2 : 6} />
              <text x={nodeW / 2} y={nodeH / 2 - (round ? 0 : 5)} dominantBaseline="middle" textAnchor="middle" className="wf-label">
                {n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}
              </text>
              {!round && (
                <text x={nodeW / 2} y={nodeH / 2 + 11} dominantBaseline="middle" textAnchor="middle" className="wf-type">
                  {n.type}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
