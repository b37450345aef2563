import { useAuth, useIdentity } from '../../api/auth';
import { Card, Page } from '../../components/Page';
import { useTheme, type ThemeChoice } from '../../hooks/useTheme';
import { Link } from '../../router';
import { humanRef } from '../../api/catalog';

/** SettingsPage shows who is signed in and the appearance choice. */
export default function SettingsPage() {
  const identity = useIdentity();
  const { signOut } = useAuth();
  const { choice, setChoice } = useTheme();
  return (
    <Page title="Settings">
      <div className="grid-2">
        <Card title="Profile">
          <dl className="props">
            <dt>User</dt>
            <dd>{identity.displayName ?? humanRef(identity.userEntityRef, 'user')}</dd>
            <dt>Entity</dt>
            <dd>
              <code>{identity.userEntityRef}</code>
            </dd>
            <dt>Ownership</dt>
            <dd>{identity.ownershipEntityRefs.map((r) => <code key={r} className="ref">{r}</code>)}</dd>
            <dt>Signed in with</dt>
            <dd>{identity.provider}</dd>
          </dl>
          <button type="button" className="btn" onClick={signOut}>
            Sign out
          </button>
        </Card>
        <Card title="Appearance">
          <fieldset className="radio-group">
            <legend>Theme</legend>
            {(['system', 'light', 'dark'] as ThemeChoice[]).map((c) => (
              <label key={c}>
                <input type="radio" name="theme" value={c} checked={choice === c} onChange={() => setChoice(c)} />
                {c === 'system' ? 'Same as the system' : c === 'light' ? 'Light' : 'Dark'}
              </label>
            ))}
          </fieldset>
        </Card>
        <Card title="Notifications">
          <p>
            Choose which origins and topics may notify you in the <Link to="/notifications/settings">notification settings</Link>.
          </p>
        </Card>
      </div>
    </Page>
  );
}
