import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkflowGraph } from './graph';
import { graphMarks } from './InstancePage';
import type { ProcessInstance } from './api';

const examples = resolve(import.meta.dirname, '../../../../examples/workflows');

describe('parseWorkflowGraph', () => {
  it('reads the greeting example: a switch with two branches that meet again', () => {
    const g = parseWorkflowGraph(readFileSync(resolve(examples, 'greeting/greeting.sw.yaml'), 'utf8'));
    expect(g.nodes.map((n) => [n.id, n.layer])).toEqual([
      ['start', 0],
      ['ChooseOnLanguage', 1],
      ['GreetInEnglish', 2],
      ['GreetInSpanish', 2],
      ['GreetPerson', 3],
      ['end', 4],
    ]);
    expect(g.edges).toContainEqual({ from: 'ChooseOnLanguage', to: 'GreetInSpanish', kind: 'condition', label: '${ .language == "Spanish" }' });
    // The English condition and the default both lead to GreetInEnglish: one edge.
    expect(g.edges.filter((e) => e.from === 'ChooseOnLanguage' && e.to === 'GreetInEnglish')).toHaveLength(1);
    expect(g.edges).toContainEqual({ from: 'GreetPerson', to: 'end', kind: 'end', label: undefined });
    expect(g.width).toBe(2);
  });

  it('reads JSON sources, error transitions, loops and unreachable states', () => {
    const g = parseWorkflowGraph(
      JSON.stringify({
        id: 'x',
        start: { stateName: 'A' },
        states: [
          { name: 'A', type: 'operation', transition: { nextState: 'B' }, onErrors: [{ errorRef: 'boom', transition: 'Fix' }] },
          { name: 'B', type: 'switch', dataConditions: [{ condition: '${ .again }', transition: 'A' }], defaultCondition: { end: true } },
          { name: 'Fix', type: 'inject', end: true },
          { name: 'Orphan', type: 'inject', end: true },
        ],
      }),
    );
    expect(g.edges).toContainEqual({ from: 'A', to: 'Fix', kind: 'error', label: 'boom' });
    expect(g.edges).toContainEqual({ from: 'B', to: 'A', kind: 'condition', label: '${ .again }' });
    const layer = Object.fromEntries(g.nodes.map((n) => [n.id, n.layer]));
    expect(layer.A).toBe(1);
    expect(layer.Orphan).toBeGreaterThan(layer.Fix);
    expect(layer.end).toBeGreaterThan(layer.Orphan);
  });

  it('says why a source cannot be read', () => {
    expect(() => parseWorkflowGraph('states: [')).toThrow();
    expect(() => parseWorkflowGraph('just text')).toThrow(/not an object/);
  });
});

describe('graphMarks', () => {
  const node = (name: string, exit?: string, errorMessage?: string) => ({ id: name, name, type: 'x', enter: '2024-01-01T00:00:00Z', exit, definitionId: name, nodeId: name, errorMessage });
  it('marks visited, current and failed states', () => {
    const running: ProcessInstance = { id: '1', processId: 'p', state: 'ACTIVE', nodes: [node('A', '2024-01-01T00:00:01Z'), node('B')] };
    const m = graphMarks(running);
    expect([...m.visited].sort()).toEqual(['A', 'B']);
    expect([...m.current]).toEqual(['B']);
    expect(m.failed).toBeUndefined();
    const failed: ProcessInstance = { id: '1', processId: 'p', state: 'ERROR', nodes: [node('A', '2024-01-01T00:00:01Z'), node('B')], error: { nodeDefinitionId: 'B', message: 'boom' } };
    const f = graphMarks(failed);
    expect(f.failed).toBe('B');
    expect(f.current.size).toBe(0);
  });
});
