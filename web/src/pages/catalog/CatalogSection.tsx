// The Catalog section: /catalog (the entity table) and
// /catalog/:namespace/:kind/:name (an entity's page).
import { matchPath, useLocation } from '../../router';
import NotFoundPage from '../NotFoundPage';
import { CatalogPage } from './CatalogPage';
import { EntityPage } from './EntityPage';

export default function CatalogSection() {
  const { pathname } = useLocation();
  if (matchPath('/catalog', pathname)) return <CatalogPage />;
  const m = matchPath('/catalog/:namespace/:kind/:name', pathname);
  if (m) return <EntityPage key={pathname} namespace={m.namespace} kind={m.kind} name={m.name} />;
  return <NotFoundPage />;
}
