import { Page } from '../components/Page';
import { EmptyState } from '../components/States';
import { Link, useLocation } from '../router';

/** NotFoundPage answers a path the app does not know. */
export default function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <Page title="Page not found">
      <EmptyState title={`Nothing lives at ${pathname}`} action={<Link to="/" className="btn">Go home</Link>}>
        The link may be old, or the page may have moved.
      </EmptyState>
    </Page>
  );
}
