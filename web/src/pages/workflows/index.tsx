// The Workflows section (/workflows/...): the orchestrator's workflows,
// their run pages, runs and each run's page.
import { NotFoundInSection } from '../create/NotFoundInSection';
import { matchPath, useLocation } from '../../router';
import { InstancePage } from './InstancePage';
import { InstancesPage } from './InstancesPage';
import { RunPage } from './RunPage';
import { WorkflowPage } from './WorkflowPage';
import { WorkflowsPage } from './WorkflowsPage';
import './workflows.css';

export default function WorkflowsSection() {
  const { pathname, search } = useLocation();
  const p = pathname.replace(/\/+$/, '') || '/workflows';
  if (p === '/workflows') return <WorkflowsPage />;
  if (p === '/workflows/instances') return <InstancesPage />;
  let m = matchPath('/workflows/instances/:id', p);
  if (m) return <InstancePage key={m.id} instanceId={m.id} />;
  m = matchPath('/workflows/:id/run', p);
  if (m) return <RunPage key={m.id + search} workflowId={m.id} />;
  m = matchPath('/workflows/:id', p);
  if (m) return <WorkflowPage key={m.id} workflowId={m.id} />;
  return <NotFoundInSection section="Workflows" home="/workflows" />;
}
