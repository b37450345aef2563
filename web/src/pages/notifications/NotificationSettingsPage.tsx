// Which origins and topics may notify the user, per channel (Web, Email).
import { useEffect, useState } from 'react';
import { useApi } from '../../api/auth';
import { getSettings, saveSettings, type NotificationSettings } from '../../api/notifications';
import { Card, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, InlineError, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';
import { Link } from '../../router';

/** toggle returns settings with one origin (or one of its topics) switched on or off in one channel. */
export function toggle(settings: NotificationSettings, channelId: string, originId: string, topicId: string | null, enabled: boolean): NotificationSettings {
  return {
    channels: settings.channels.map((c) =>
      c.id !== channelId
        ? c
        : {
            ...c,
            origins: c.origins.map((o) =>
              o.id !== originId
                ? o
                : topicId === null
                  ? { ...o, enabled }
                  : { ...o, topics: (o.topics ?? []).map((t) => (t.id === topicId ? { ...t, enabled } : t)) },
            ),
          },
    ),
  };
}

export function NotificationSettingsPage() {
  const api = useApi();
  const loaded = useAsync((signal) => getSettings(api, signal), [api]);
  const [settings, setSettings] = useState<NotificationSettings | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState(false);
  useEffect(() => setSettings(loaded.value), [loaded.value]);

  const change = async (next: NotificationSettings) => {
    const before = settings;
    setSettings(next);
    setSaving(true);
    setError(undefined);
    setSaved(false);
    try {
      setSettings(await saveSettings(api, next));
      setSaved(true);
    } catch (e) {
      setSettings(before);
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  const channels = settings?.channels ?? [];
  const origins = [...new Set(channels.flatMap((c) => c.origins.map((o) => o.id)))].sort();

  return (
    <Page title="Notification settings" subtitle={<Link to="/notifications">Back to notifications</Link>}>
      {loaded.error ? (
        <ErrorPanel title="Settings could not be read" error={loaded.error} onRetry={loaded.reload} />
      ) : !settings ? (
        <Loading />
      ) : origins.length === 0 ? (
        <EmptyState title="Nothing to configure yet">Origins and topics appear here once something has notified you.</EmptyState>
      ) : (
        <Card title="Who may notify you" actions={<span className="muted" aria-live="polite">{saving ? 'Saving…' : saved ? 'Saved' : ''}</span>}>
          <InlineError error={error} />
          <div className="table-wrap">
            <table className="table settings-table">
              <thead>
                <tr>
                  <th scope="col">Origin and topic</th>
                  {channels.map((c) => (
                    <th scope="col" key={c.id}>
                      {c.id}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {origins.map((originId) => {
                  const topics = [...new Set(channels.flatMap((c) => c.origins.find((o) => o.id === originId)?.topics?.map((t) => t.id) ?? []))].sort();
                  return [
                    <tr key={originId}>
                      <th scope="row">{originId}</th>
                      {channels.map((c) => {
                        const o = c.origins.find((x) => x.id === originId);
                        return (
                          <td key={c.id}>
                            {o && (
                              <input
                                type="checkbox"
                                aria-label={`${c.id} notifications from ${originId}`}
                                checked={o.enabled}
                                disabled={saving}
                                onChange={(e) => change(toggle(settings, c.id, originId, null, e.target.checked))}
                              />
                            )}
                          </td>
                        );
                      })}
                    </tr>,
                    ...topics.map((topicId) => (
                      <tr key={`${originId}/${topicId}`}>
                        <th scope="row" className="muted">
                          <span aria-hidden="true">↳ </span>
                          {topicId}
                        </th>
                        {channels.map((c) => {
                          const o = c.origins.find((x) => x.id === originId);
                          const t = o?.topics?.find((x) => x.id === topicId);
                          return (
                            <td key={c.id}>
                              {o && t && (
                                <input
                                  type="checkbox"
                                  aria-label={`${c.id} notifications from ${originId} about ${topicId}`}
                                  checked={t.enabled}
                                  disabled={saving || !o.enabled}
                                  onChange={(e) => change(toggle(settings, c.id, originId, topicId, e.target.checked))}
                                />
                              )}
                            </td>
                          );
                        })}
                      </tr>
                    )),
                  ];
                })}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </Page>
  );
}
