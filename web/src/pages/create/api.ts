// The scaffolder API (/api/scaffolder), which is Backstage's, and the
// templates in the catalog.
import type { ApiClient } from '../../api/client';
import type { Entity } from '../../api/catalog';
import type { JsonSchema } from './form/schema';

const base = '/api/scaffolder/v2';

export interface DecoratorUse {
  id: string;
  input?: Record<string, unknown>;
}

export interface ParameterSchema {
  title: string;
  description?: string;
  presentation?: { buttonLabels?: { backButtonText?: string; createButtonText?: string; reviewButtonText?: string } };
  'ui:options'?: Record<string, unknown>;
  steps: { title: string; description?: string; schema: JsonSchema }[];
  formDecorators?: DecoratorUse[];
  EXPERIMENTAL_formDecorators?: DecoratorUse[];
}

export interface TaskStep {
  id: string;
  name: string;
  action: string;
  input?: Record<string, unknown>;
  if?: unknown;
}

export interface OutputLink {
  title?: string;
  url?: string;
  entityRef?: string;
  icon?: string;
}

export interface OutputText {
  title?: string;
  content?: string;
  icon?: string;
  default?: boolean;
}

export interface Task {
  id: string;
  spec: {
    steps: TaskStep[];
    output?: Record<string, unknown>;
    parameters?: Record<string, unknown>;
    user?: { ref?: string };
    templateInfo?: { entityRef?: string; entity?: { metadata?: { name?: string; title?: string } } };
    EXPERIMENTAL_recovery?: { EXPERIMENTAL_strategy?: string };
  };
  status: TaskStatus;
  createdAt: string;
  lastHeartbeatAt?: string;
  createdBy?: string;
}

export type TaskStatus = 'open' | 'processing' | 'completed' | 'failed' | 'cancelled' | 'skipped';

export interface TaskEvent {
  id: number;
  taskId: string;
  type: 'log' | 'completion' | 'cancelled' | 'recovered' | string;
  createdAt: string;
  isTaskRecoverable?: boolean;
  body: {
    message?: string;
    stepId?: string;
    status?: string;
    output?: Record<string, unknown>;
    error?: { name?: string; message?: string };
    recoverStrategy?: string;
  };
}

/** finished says whether a task will not change any more. */
export function finished(status?: string): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'skipped';
}

export function listTemplates(api: ApiClient, signal?: AbortSignal): Promise<{ items: Entity[] }> {
  return api.get('/api/catalog/entities/by-query', { signal, query: { filter: 'kind=template', limit: 500, orderField: 'metadata.name,asc' } });
}

export function getParameterSchema(api: ApiClient, namespace: string, name: string, signal?: AbortSignal): Promise<ParameterSchema> {
  return api.get(`${base}/templates/${encodeURIComponent(namespace)}/template/${encodeURIComponent(name)}/parameter-schema`, { signal });
}

export function createTask(api: ApiClient, body: { templateRef: string; values: Record<string, unknown>; secrets?: Record<string, string> }): Promise<{ id: string }> {
  return api.post(`${base}/tasks`, body);
}

export function getTask(api: ApiClient, id: string, signal?: AbortSignal): Promise<Task> {
  return api.get(`${base}/tasks/${encodeURIComponent(id)}`, { signal });
}

export function listTasks(
  api: ApiClient,
  q: { createdBy?: string; status?: string; limit: number; offset: number },
  signal?: AbortSignal,
): Promise<{ tasks: Task[]; totalTasks: number }> {
  return api.get(`${base}/tasks`, { signal, query: { createdBy: q.createdBy, status: q.status, limit: q.limit, offset: q.offset, order: 'desc:created_at' } });
}

export function cancelTask(api: ApiClient, id: string): Promise<unknown> {
  return api.post(`${base}/tasks/${encodeURIComponent(id)}/cancel`, {});
}

export function retryTask(api: ApiClient, id: string): Promise<{ id: string }> {
  return api.post(`${base}/tasks/${encodeURIComponent(id)}/retry`, {});
}

export function listServerDecorators(api: ApiClient, signal?: AbortSignal): Promise<{ decorators: { id: string; description?: string }[] }> {
  return api.get(`${base}/form-decorators`, { signal });
}

/** templatePath is the app path of a template's wizard. */
export function templatePath(namespace: string, name: string): string {
  return `/create/templates/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** taskPath is the app path of a task's page. */
export function taskPath(id: string): string {
  return `/create/tasks/${encodeURIComponent(id)}`;
}

/**
 * parseSSE splits a text/event-stream buffer into complete frames and the
 * unfinished rest. Each frame gives its event name and data.
 */
export function parseSSE(buffer: string): { frames: { event: string; data: string }[]; rest: string } {
  const frames: { event: string; data: string }[] = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const parts = normalized.split('\n\n');
  const rest = parts.pop() ?? '';
  for (const part of parts) {
    let event = 'message';
    const data: string[] = [];
    for (const line of part.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) frames.push({ event, data: data.join('\n') });
  }
  return { frames, rest };
}

/**
 * streamEvents reads a task's event stream with fetch, so that the token
 * goes in the Authorization header (EventSource cannot send it). It
 * resumes after the last event when the connection drops, and stops when
 * the task completed and is not recoverable, or when signal aborts.
 *
 * onOpen, when given, is called each time the stream is (re)established;
 * resumed is true from the second connection on. The stream replays only
 * events, not the task's own fields, so a view re-reads the task then to
 * catch a status change it may have missed while disconnected.
 */
export async function streamEvents(
  api: ApiClient,
  id: string,
  onEvent: (e: TaskEvent) => void,
  signal: AbortSignal,
  onOpen?: (resumed: boolean) => void,
): Promise<void> {
  let after: number | undefined;
  let failures = 0;
  let connections = 0;
  while (!signal.aborted) {
    let done = false;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      const token = api.token();
      if (token) headers.Authorization = `Bearer ${token}`;
      const res = await fetch(api.url(`${base}/tasks/${encodeURIComponent(id)}/eventstream`, { after }), { headers, signal });
      if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
      onOpen?.(connections++ > 0);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buffer += decoder.decode(value, { stream: true });
        const { frames, rest } = parseSSE(buffer);
        buffer = rest;
        for (const f of frames) {
          let ev: TaskEvent;
          try {
            ev = JSON.parse(f.data) as TaskEvent;
          } catch {
            continue;
          }
          if (after === undefined || ev.id > after) after = ev.id;
          onEvent(ev);
          if (ev.type === 'completion' && !ev.isTaskRecoverable) done = true;
        }
        failures = 0;
      }
    } catch (e) {
      if (signal.aborted) return;
      failures++;
      if (failures > 30) throw e;
    }
    if (done || signal.aborted) return;
    // The server closed the stream (a restart, a recoverable completion):
    // wait a moment and resume after the last event seen.
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * Math.max(1, failures))));
  }
}
