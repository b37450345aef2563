import { Page } from '../../components/Page';

export default function CatalogSection() {
  return (
    <Page title="Catalog">
      <p>The catalog.</p>
    </Page>
  );
}
