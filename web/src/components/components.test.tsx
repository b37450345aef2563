import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { Router } from '../router';
import { FacetFilter } from './FacetFilter';
import { layoutRelations, RelationsGraph } from './RelationsGraph';
import { EmptyState, ErrorPanel, Loading } from './States';

describe('States', () => {
  it('shows the server message of an API error, its name and status', () => {
    const retry = vi.fn();
    render(<ErrorPanel error={new ApiError({ name: 'InputError', message: 'filter: bad value', status: 400, method: 'GET', url: '/x' })} onRetry={retry} />);
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('InputError: filter: bad value');
    expect(alert.textContent).toContain('HTTP 400');
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(retry).toHaveBeenCalledOnce();
  });

  it('announces loading and empty states', () => {
    render(
      <>
        <Loading />
        <EmptyState title="Nothing here">Add something.</EmptyState>
      </>,
    );
    expect(screen.getAllByRole('status').map((s) => s.textContent)).toEqual(['Loading…', 'Nothing hereAdd something.']);
  });
});

describe('FacetFilter', () => {
  const values = [
    { value: 'service', count: 3 },
    { value: 'website', count: 2 },
    { value: 'worker', count: 1 },
  ];

  it('lists values with counts and reports the new selection', () => {
    const onChange = vi.fn();
    render(<FacetFilter label="Type" values={values} selected={['website']} onChange={onChange} />);
    const group = screen.getByRole('group', { name: 'Type' });
    expect(group.textContent).toContain('service3');
    expect((screen.getByRole('checkbox', { name: /website/ }) as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByRole('checkbox', { name: /service/ }));
    expect(onChange).toHaveBeenLastCalledWith(['website', 'service']);
    fireEvent.click(screen.getByRole('checkbox', { name: /website/ }));
    expect(onChange).toHaveBeenLastCalledWith([]);
  });

  it('keeps a selected value listed when the other filters leave none of it', () => {
    render(<FacetFilter label="Type" values={values} selected={['library']} onChange={() => undefined} />);
    expect((screen.getByRole('checkbox', { name: /library/ }) as HTMLInputElement).checked).toBe(true);
  });

  it('shows a long list in part until asked for all', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ value: `tag-${i}`, count: 1 }));
    render(<FacetFilter label="Tags" values={many} selected={[]} onChange={() => undefined} />);
    expect(screen.getAllByRole('checkbox')).toHaveLength(8);
    fireEvent.click(screen.getByRole('button', { name: 'Show all 12' }));
    expect(screen.getAllByRole('checkbox')).toHaveLength(12);
  });

  it('renders nothing without values', () => {
    const { container } = render(<FacetFilter label="Owner" values={[]} selected={[]} onChange={() => undefined} />);
    expect(container.textContent).toBe('');
  });

  it('displays values through display()', () => {
    render(<FacetFilter label="Owner" values={[{ value: 'group:default/team-a', count: 2 }]} selected={[]} onChange={() => undefined} display={(v) => v.split('/')[1]} />);
    expect(screen.getByRole('checkbox', { name: /team-a/ })).toBeTruthy();
  });
});

describe('RelationsGraph', () => {
  it('places each distinct target once, merging relation types', () => {
    const nodes = layoutRelations(
      [
        { type: 'ownedBy', targetRef: 'group:default/team-a' },
        { type: 'partOf', targetRef: 'system:default/payments' },
        { type: 'dependsOn', targetRef: 'group:default/team-a' },
      ],
      640,
      300,
    );
    expect(nodes.map((n) => [n.ref, n.types])).toEqual([
      ['group:default/team-a', ['ownedBy', 'dependsOn']],
      ['system:default/payments', ['partOf']],
    ]);
    // Two nodes: none level with the centre.
    for (const n of nodes) expect(Math.abs(n.y - 150)).toBeGreaterThan(10);
  });

  it('links every related entity to its page', () => {
    render(
      <Router>
        <RelationsGraph entityRef="component:default/shop" relations={[{ type: 'ownedBy', targetRef: 'group:default/team-a' }]} />
      </Router>,
    );
    const graph = screen.getByRole('img', { name: /Relations of component:shop: ownedBy group:team-a/ });
    expect(graph.querySelector('a')?.getAttribute('href')).toBe('/catalog/default/group/team-a');
  });
});
