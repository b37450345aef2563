// The Create section (/create/...): owned by the Create pages' author.
// This placeholder only reserves the route.
import { Page } from '../../components/Page';
import { EmptyState } from '../../components/States';

export default function CreateSection() {
  return (
    <Page title="Create" subtitle="Create new software from templates">
      <EmptyState title="The template gallery is on its way." />
    </Page>
  );
}
