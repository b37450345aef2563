import { Link } from '../../router';

/** CreateTabs switches between the templates and the tasks they started. */
export function CreateTabs({ current }: { current: 'templates' | 'tasks' }) {
  return (
    <nav className="tabs" aria-label="Create sections">
      <Link to="/create" aria-current={current === 'templates' ? 'page' : undefined}>
        Templates
      </Link>
      <Link to="/create/tasks" aria-current={current === 'tasks' ? 'page' : undefined}>
        Tasks
      </Link>
    </nav>
  );
}
