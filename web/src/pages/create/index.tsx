// The Create section (/create/...): the template gallery, each template's
// wizard, and the tasks templates started.
import { matchPath, useLocation } from '../../router';
import { NotFoundInSection } from './NotFoundInSection';
import { TaskPage } from './TaskPage';
import { TasksPage } from './TasksPage';
import { TemplatesPage } from './TemplatesPage';
import { TemplateWizardPage } from './TemplateWizardPage';
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
