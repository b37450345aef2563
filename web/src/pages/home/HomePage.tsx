import { Page } from '../../components/Page';

export default function HomePage() {
  return (
    <Page title="Home">
      <p>Welcome to Portico.</p>
    </Page>
  );
}
