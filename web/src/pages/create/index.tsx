// The Create section (/create/...): the template gallery, each template's
// wizard, and the tasks templates started.
import { lazy } from 'react';
import { matchPath, useLocation } from '../../router';
import { NotFoundInSection } from './NotFoundInSection';
import { TasksPage } from './TasksPage';
import { TemplatesPage } from './TemplatesPage';

// The wizard (rjsf and Ajv) and the task page load when opened.
const TemplateWizardPage = lazy(() => import('./TemplateWizardPage').then((m) => ({ default: m.TemplateWizardPage })));
const TaskPage = lazy(() => import('./TaskPage').then((m) => ({ default: m.TaskPage })));
import '../workflows/workflows.css';
import './create.css';

export default function CreateSection() {
  const { pathname } = useLocation();
  const p = pathname.replace(/\/+$/, '') || '/create';
  if (p === '/create') return <TemplatesPage />;
  if (p === '/create/tasks') return <TasksPage />;
  let m = matchPath('/create/tasks/:id', p);
  if (m) return <TaskPage key={m.id} taskId={m.id} />;
  m = matchPath('/create/templates/:namespace/:name', p);
  if (m) return <TemplateWizardPage key={`${m.namespace}/${m.name}`} namespace={m.namespace} name={m.name} />;
  return <NotFoundInSection section="Create" home="/create" />;
}
