// A workflow definition's graph: states and their transitions read from
// the Serverless Workflow source (YAML or JSON), laid out in layers from
// the start state, so the instance page can draw it and mark the path an
// instance took.
import { parse } from 'yaml';

export interface GraphNode {
  id: string;
  label: string;
  type: string;
  /** Layout: layer (row) and position within it. */
  layer: number;
  slot: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
  /** error edges come from onErrors. */
  kind: 'transition' | 'condition' | 'error' | 'end';
}

export interface WorkflowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  layers: number;
  width: number;
}

export const startId = 'start';
export const endId = 'end';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function target(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (isObj(t) && typeof t.nextState === 'string') return t.nextState;
  return undefined;
}

function isEnd(v: unknown): boolean {
  return v === true || isObj(v);
}

/**
 * parseWorkflowGraph reads states and transitions from a workflow's source.
 * It throws with the parser's message when the source is not YAML/JSON.
 */
export function parseWorkflowGraph(source: string): WorkflowGraph {
  const doc = parse(source) as unknown;
  if (!isObj(doc)) throw new Error('the workflow source is not an object');
  const states = Array.isArray(doc.states) ? (doc.states.filter(isObj) as Obj[]) : [];
  const edges: GraphEdge[] = [];
  const nodes = new Map<string, { label: string; type: string }>();
  nodes.set(startId, { label: 'Start', type: 'start' });
  for (const s of states) {
    if (typeof s.name === 'string') nodes.set(s.name, { label: s.name, type: String(s.type ?? 'state') });
  }
  let hasEnd = false;
  const add = (from: string, to: string | undefined, kind: GraphEdge['kind'], label?: string) => {
    if (!to) return;
    if (to === endId) hasEnd = true;
    if (!edges.some((e) => e.from === from && e.to === to && e.kind === kind)) edges.push({ from, to, kind, label });
  };
  const start = typeof doc.start === 'string' ? doc.start : isObj(doc.start) ? (doc.start.stateName as string) : (states[0]?.name as string);
  add(startId, start, 'transition');
  for (const s of states) {
    const name = s.name as string;
    if (!name) continue;
    add(name, target(s.transition), 'transition');
    if (isEnd(s.end)) add(name, endId, 'end');
    for (const key of ['dataConditions', 'eventConditions'] as const) {
      const conds = s[key];
      if (!Array.isArray(conds)) continue;
      for (const c of conds.filter(isObj)) {
        const label = typeof c.name === 'string' ? c.name : typeof c.condition === 'string' ? c.condition : undefined;
        add(name, target(c.transition), 'condition', label);
        if (isEnd(c.end)) add(name, endId, 'end', label);
      }
    }
    if (isObj(s.defaultCondition)) {
      add(name, target(s.defaultCondition.transition), 'condition', 'default');
      if (isEnd(s.defaultCondition.end)) add(name, endId, 'end', 'default');
    }
    if (Array.isArray(s.onErrors)) {
      for (const e of s.onErrors.filter(isObj)) {
        add(name, target(e.transition), 'error', typeof e.errorRef === 'string' ? e.errorRef : 'error');
        if (isEnd(e.end)) add(name, endId, 'error', 'error');
      }
    }
  }
  if (hasEnd) nodes.set(endId, { label: 'End', type: 'end' });
  // Edges to states that do not exist are dropped (the validator reports them).
  const valid = edges.filter((e) => nodes.has(e.from) && nodes.has(e.to));

  // Layers: the longest path from the start over forward edges (a BFS
  // that ignores edges back to a state already placed keeps loops finite).
  const layer = new Map<string, number>([[startId, 0]]);
  const order: string[] = [startId];
  for (let i = 0; i < order.length; i++) {
    const from = order[i];
    for (const e of valid.filter((x) => x.from === from)) {
      if (!layer.has(e.to)) {
        layer.set(e.to, (layer.get(from) ?? 0) + 1);
        order.push(e.to);
      }
    }
  }
  // States no transition reaches still show, below the rest.
  let maxLayer = Math.max(...layer.values());
  for (const id of nodes.keys()) {
    if (!layer.has(id) && id !== endId) layer.set(id, ++maxLayer);
  }
  if (nodes.has(endId)) {
    const lastBeforeEnd = Math.max(0, ...valid.filter((e) => e.to === endId).map((e) => layer.get(e.from) ?? 0));
    layer.set(endId, Math.max(layer.get(endId) ?? 0, lastBeforeEnd + 1));
  }
  const slots = new Map<number, number>();
  const out: GraphNode[] = [];
  const ids = [...order.filter((id) => nodes.has(id)), ...[...nodes.keys()].filter((id) => !order.includes(id))];
  for (const id of ids) {
    const l = layer.get(id) ?? 0;
    const slot = slots.get(l) ?? 0;
    slots.set(l, slot + 1);
    const n = nodes.get(id)!;
    out.push({ id, label: n.label, type: n.type, layer: l, slot });
  }
  return { nodes: out, edges: valid, layers: Math.max(...out.map((n) => n.layer)) + 1, width: Math.max(...slots.values()) };
}
