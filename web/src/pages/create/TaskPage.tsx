// A scaffolder task: its steps with status and duration, the live log
// from the event stream, the output links and text, Cancel and Retry, and
// the marker of a task that was recovered after a restart. The page is
// live: events re-read the task, a reconnect re-reads it, and a slow poll
// catches anything else.
import { Markdown } from 'markdown-to-jsx/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useApi } from '../../api/auth';
import { entityPath, humanRef } from '../../api/catalog';
import { instancePath } from '../../api/orchestrator';
import { Card, Chip, Page } from '../../components/Page';
import { ErrorPanel, InlineError, Loading } from '../../components/States';
import { formatTime } from '../../format';
import { useAsync, useReloadWhile } from '../../hooks/useAsync';
import { Link } from '../../router';
import { durationBetween } from '../workflows/api';
import { cancelTask, finished, getTask, retryTask, streamEvents, templatePath, type OutputLink, type OutputText, type Task, type TaskEvent } from './api';

/**
 * fallbackPollMs is how often an unfinished task is read again although no
 * event came; the live event stream makes the page current long before.
 */
export const fallbackPollMs = 15_000;

export interface StepState {
  id: string;
  name: string;
  status: string;
  start?: string;
  end?: string;
}

/** stepStates works out each step's status and times from the task's events. */
export function stepStates(task: Task, events: TaskEvent[]): StepState[] {
  const steps = new Map<string, StepState>(task.spec.steps.map((s) => [s.id, { id: s.id, name: s.name || s.action, status: 'open' }]));
  for (const e of events) {
    if (e.type === 'recovered') {
      // A recovered task runs again from a step that had not finished.
      for (const s of steps.values()) if (s.status === 'processing') s.status = 'open';
      continue;
    }
    const id = e.body.stepId;
    if (!id || !e.body.status) continue;
    const s = steps.get(id);
    if (!s) continue;
    s.status = e.body.status;
    if (e.body.status === 'processing') {
      s.start = e.createdAt;
      s.end = undefined;
    } else {
      s.end = e.createdAt;
    }
  }
  if (finished(task.status)) {
    for (const s of steps.values()) if (s.status === 'processing') s.status = task.status === 'completed' ? 'completed' : 'failed';
  }
  return [...steps.values()];
}

function tone(status: string): 'success' | 'danger' | 'info' | 'warning' | 'neutral' {
  switch (status) {
    case 'completed':
      return 'success';
    case 'failed':
      return 'danger';
    case 'processing':
      return 'info';
    case 'cancelled':
    case 'skipped':
      return 'warning';
    default:
      return 'neutral';
  }
}

export function TaskPage({ taskId }: { taskId: string }) {
  const api = useApi();
  const task = useAsync((signal) => getTask(api, taskId, signal), [api, taskId]);
  const [events, setEvents] = useState<TaskEvent[]>([]);
  const [streamError, setStreamError] = useState<unknown>(null);
  const [streamKey, setStreamKey] = useState(0);
  const reloadTask = useRef(task.reload);
  reloadTask.current = task.reload;

  useEffect(() => {
    const ctrl = new AbortController();
    setEvents([]);
    setStreamError(null);
    streamEvents(
      api,
      taskId,
      (e) => {
        setEvents((list) => (list.some((x) => x.id === e.id) ? list : [...list, e]));
        if (e.type === 'completion' || e.type === 'recovered' || e.type === 'cancelled' || e.body.status) reloadTask.current();
      },
      ctrl.signal,
      // After a dropped connection, read the task again: what changed
      // meanwhile is in the replayed events, but a status change without
      // an event (a worker claiming the task) is not.
      (resumed) => {
        if (resumed) reloadTask.current();
      },
    ).catch((e) => {
      if (!ctrl.signal.aborted) setStreamError(e);
    });
    return () => ctrl.abort();
  }, [api, taskId, streamKey]);

  // The event stream drives the page (each step's status change re-reads
  // the task). This slow poll is only a safety net for a change that comes
  // with no event, such as a worker claiming the task before its first step.
  const status = task.value?.status;
  useReloadWhile(task, !!status && !finished(status), fallbackPollMs);

  const steps = useMemo(() => (task.value ? stepStates(task.value, events) : []), [task.value, events]);
  const completion = [...events].reverse().find((e) => e.type === 'completion');
  const recovered = events.filter((e) => e.type === 'recovered');
  const output = completion?.body.output ?? {};
  const links = (Array.isArray(output.links) ? output.links : []) as OutputLink[];
  const texts = (Array.isArray(output.text) ? output.text : []) as OutputText[];
  const extra = Object.entries(output).filter(([k]) => k !== 'links' && k !== 'text');
  const log = events.filter((e) => e.body.message);
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [log.length]);

  if (task.error && !task.value) {
    return (
      <Page title="Task">
        <ErrorPanel title="This task could not be read" error={task.error} onRetry={task.reload} />
      </Page>
    );
  }
  if (!task.value) return <Loading />;
  const t = task.value;
  const templateRef = t.spec.templateInfo?.entityRef;
  const templateName = t.spec.templateInfo?.entity?.metadata?.title ?? t.spec.templateInfo?.entity?.metadata?.name ?? (templateRef ? humanRef(templateRef, 'template') : 'Task');
  const tplParts = templateRef ? /^template:([^/]+)\/(.+)$/.exec(templateRef) : null;
  return (
    <Page
      title={`Run of ${templateName}`}
      subtitle={
        <>
          Task <code>{t.id}</code> · started {formatTime(t.createdAt)}
          {t.createdBy ? ` by ${humanRef(t.createdBy, 'user')}` : ''}
        </>
      }
      actions={
        <TaskActions
          task={t}
          startOver={tplParts ? `${templatePath(tplParts[1], tplParts[2])}?formData=${encodeURIComponent(JSON.stringify(t.spec.parameters ?? {}))}` : undefined}
          onChange={() => {
            task.reload();
            setStreamKey((k) => k + 1);
          }}
        />
      }
    >
      <div className="row task-status">
        <span data-testid="task-status" data-status={t.status}>
          <Chip tone={tone(t.status)}>{t.status}</Chip>
        </span>
        {recovered.length > 0 && (
          <span title={recovered.map((r) => r.body.message ?? r.body.recoverStrategy ?? '').join('\n')}>
            <Chip tone="warning">recovered</Chip>
          </span>
        )}
        {completion?.body.error && <InlineError error={new Error(completion.body.error.message ?? 'the task failed')} />}
      </div>
      {streamError ? <ErrorPanel title="The live log stopped" error={streamError} onRetry={() => setStreamKey((k) => k + 1)} /> : null}
      <div className="task-layout">
        <Card title="Steps">
          <ol className="task-steps">
            {steps.map((s) => (
              <li key={s.id} data-step={s.id} data-status={s.status}>
                <Chip tone={tone(s.status)}>{s.status}</Chip>
                <span className="task-step-name">{s.name}</span>
                <span className="muted task-step-time">{s.start ? durationBetween(s.start, s.end) : ''}</span>
              </li>
            ))}
          </ol>
        </Card>
        <div className="stack">
          {(links.length > 0 || texts.length > 0 || extra.length > 0) && (
            <Card title="Output">
              {links.length > 0 && (
                <div className="row output-links">
                  {links.map((l, i) =>
                    l.entityRef ? (
                      <Link key={i} className="btn" to={entityPath(l.entityRef)}>
                        {l.title ?? humanRef(l.entityRef)}
                      </Link>
                    ) : l.url ? (
                      <a key={i} className="btn" href={l.url} target="_blank" rel="noopener noreferrer">
                        {l.title ?? l.url}
                      </a>
                    ) : null,
                  )}
                </div>
              )}
              {texts.map((x, i) => (
                <details key={i} open={i === 0 || x.default}>
                  <summary>{x.title ?? 'Text'}</summary>
                  <div className="output-markdown">
                    <Markdown options={{ disableParsingRawHTML: true }}>{x.content ?? ''}</Markdown>
                  </div>
                </details>
              ))}
              {extra.length > 0 && (
                <dl className="review">
                  {extra.map(([k, v]) => (
                    <div key={k}>
                      <dt>{k}</dt>
                      <dd>
                        {/instanceId$/i.test(k) && typeof v === 'string' && v ? (
                          <Link to={instancePath(v)}>{v}</Link>
                        ) : typeof v === 'string' ? (
                          v
                        ) : (
                          JSON.stringify(v)
                        )}
                      </dd>
                    </div>
                  ))}
                </dl>
              )}
            </Card>
          )}
          <Card title="Log">
            <pre className="task-log" ref={logRef} aria-live="polite" aria-label="Task log">
              {log.length === 0
                ? 'Waiting for the task to start…'
                : log
                    .map((e) => `${new Date(e.createdAt).toLocaleTimeString()} ${e.body.stepId ? `[${e.body.stepId}] ` : ''}${e.body.message}`)
                    .join('\n')}
            </pre>
          </Card>
        </div>
      </div>
    </Page>
  );
}

function TaskActions({ task, onChange, startOver }: { task: Task; onChange: () => void; startOver?: string }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const done = finished(task.status);
  return (
    <div className="row">
      {error ? <InlineError error={error} /> : null}
      {!done && (
        <button type="button" className="btn btn-danger" disabled={busy} onClick={() => act(() => cancelTask(api, task.id))}>
          Cancel
        </button>
      )}
      {done && task.status !== 'completed' && (
        <button type="button" className="btn" disabled={busy} onClick={() => act(() => retryTask(api, task.id))}>
          Retry
        </button>
      )}
      {done && startOver && (
        <Link className="btn" to={startOver}>
          Start over
        </Link>
      )}
      <Link className="btn" to="/create/tasks">
        All tasks
      </Link>
    </div>
  );
}
