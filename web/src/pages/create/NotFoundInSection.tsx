import { Page } from '../../components/Page';
import { EmptyState } from '../../components/States';
import { Link } from '../../router';

/** NotFoundInSection is a section's page for a path it does not know. */
export function NotFoundInSection({ section, home }: { section: string; home: string }) {
  return (
    <Page title="Page not found">
      <EmptyState
        title={`There is no such page in ${section}.`}
        action={
          <Link className="btn" to={home}>
            Back to {section}
          </Link>
        }
      />
    </Page>
  );
}
