// The Workflows section (/workflows/...): the orchestrator's workflows,
// their run pages, runs and each run's page.
import { lazy } from 'react';
import { NotFoundInSection } from '../create/NotFoundInSection';
import { matchPath, useLocation } from '../../router';
import { InstancesPage } from './InstancesPage';
import { WorkflowsPage } from './WorkflowsPage';
import './workflows.css';

// The run form (rjsf and Ajv) and the graph (a YAML parser) are the heavy
// parts: they load with the pages that need them, not with the list.
const RunPage = lazy(() => import('./RunPage').then((m) => ({ default: m.RunPage })));
const InstancePage = lazy(() => import('./InstancePage').then((m) => ({ default: m.InstancePage })));
const WorkflowPage = lazy(() => import('./WorkflowPage').then((m) => ({ default: m.WorkflowPage })));

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
