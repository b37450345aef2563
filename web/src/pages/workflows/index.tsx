// The Workflows section (/workflows/...): owned by the Workflows pages'
// author. This placeholder only reserves the route.
import { Page } from '../../components/Page';
import { EmptyState } from '../../components/States';

export default function WorkflowsSection() {
  return (
    <Page title="Workflows" subtitle="Run and monitor orchestrator workflows">
      <EmptyState title="The Workflows pages are on their way." />
    </Page>
  );
}
