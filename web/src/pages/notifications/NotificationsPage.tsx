import { Page } from '../../components/Page';

export default function NotificationsPage() {
  return (
    <Page title="Notifications">
      <p>Notifications.</p>
    </Page>
  );
}
