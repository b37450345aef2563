import { Link } from '../../router';

/** WorkflowTabs switches between the workflows and their runs. */
export function WorkflowTabs({ current }: { current: 'workflows' | 'runs' }) {
  return (
    <nav className="tabs" aria-label="Workflows sections">
      <Link to="/workflows" aria-current={current === 'workflows' ? 'page' : undefined}>
        Workflows
      </Link>
      <Link to="/workflows/instances" aria-current={current === 'runs' ? 'page' : undefined}>
        Runs
      </Link>
    </nav>
  );
}
