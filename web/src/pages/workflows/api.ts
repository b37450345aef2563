// The orchestrator's v2 API (/api/orchestrator/v2), as the RHDH
// orchestrator plugin defines it, with the members Portico adds
// (workflowResult, assessedBy, category).
import type { ApiClient } from '../../api/client';

const base = '/api/orchestrator/v2/workflows';

export interface WorkflowOverview {
  workflowId: string;
  name?: string;
  format: string;
  lastRunId?: string;
  lastTriggeredMs: number;
  lastRunStatus?: string;
  category: string;
  description?: string;
  isAvailable: boolean;
}

export interface NodeInstance {
  id: string;
  name: string;
  type: string;
  enter: string;
  exit?: string;
  definitionId: string;
  nodeId: string;
  errorMessage?: string;
}

export interface ResultOutput {
  key: string;
  value: unknown;
  format?: string;
}

export interface NextWorkflow {
  id: string;
  name: string;
  source: string;
  available: boolean;
  category?: string;
  executePath?: string;
  inputSchemaPath?: string;
}

export interface WorkflowResult {
  completedWith?: string;
  message?: string;
  outputs?: ResultOutput[];
  nextWorkflows?: NextWorkflow[];
  unknownWorkflowIds?: string[];
  problems?: string[];
}

export interface InstanceRef {
  id: string;
  processId: string;
  processName?: string;
  state: string;
  start?: string;
}

export interface ProcessInstance {
  id: string;
  processId: string;
  processName?: string;
  description?: string;
  businessKey?: string;
  error?: { nodeDefinitionId: string; nodeInstanceId?: string; message?: string };
  start?: string;
  end?: string;
  duration?: string;
  workflowdata?: Record<string, unknown>;
  initiatorEntity?: string;
  targetEntity?: string;
  state?: string;
  category?: string;
  nodes: NodeInstance[];
  workflowResult?: WorkflowResult;
  outputSchemaErrors?: string[];
  assessedBy?: InstanceRef;
}

export interface Filter {
  field?: string;
  operator: string;
  value?: unknown;
  filters?: Filter[];
}

export interface Pagination {
  pageSize?: number;
  offset?: number;
  orderBy?: string;
  orderDirection?: 'ASC' | 'DESC';
}

/** activeStates are the states in which an instance still changes. */
export const activeStates = ['ACTIVE', 'PENDING'];

/** isRunning says whether an instance may still change. */
export function isRunning(state?: string): boolean {
  return activeStates.includes((state ?? '').toUpperCase());
}

export function listOverviews(api: ApiClient, signal?: AbortSignal): Promise<{ overviews: WorkflowOverview[] }> {
  return api.post(`${base}/overview`, { paginationInfo: { pageSize: 500, offset: 0, orderBy: 'name', orderDirection: 'ASC' } }, { signal });
}

export function getOverview(api: ApiClient, id: string, signal?: AbortSignal): Promise<WorkflowOverview> {
  return api.get(`${base}/${encodeURIComponent(id)}/overview`, { signal });
}

export function getSource(api: ApiClient, id: string, signal?: AbortSignal): Promise<string> {
  return api.get<unknown>(`${base}/${encodeURIComponent(id)}/source`, { signal, headers: { Accept: 'text/plain, */*' } }).then((v) =>
    typeof v === 'string' ? v : JSON.stringify(v),
  );
}

export function getInputSchema(
  api: ApiClient,
  id: string,
  instanceId?: string,
  signal?: AbortSignal,
): Promise<{ inputSchema?: Record<string, unknown>; data?: Record<string, unknown> }> {
  return api.get(`${base}/${encodeURIComponent(id)}/inputSchema`, { signal, query: { instanceId } });
}

export function execute(
  api: ApiClient,
  id: string,
  body: { inputData: unknown; businessKey?: string; targetEntity?: string },
): Promise<{ id: string }> {
  return api.post(`${base}/${encodeURIComponent(id)}/execute`, body);
}

export function getInstance(api: ApiClient, id: string, signal?: AbortSignal): Promise<ProcessInstance> {
  return api.get(`${base}/instances/${encodeURIComponent(id)}`, { signal });
}

export function searchInstances(
  api: ApiClient,
  req: { filters?: Filter; paginationInfo?: Pagination },
  signal?: AbortSignal,
): Promise<{ items: ProcessInstance[]; paginationInfo?: Pagination }> {
  return api.post(`${base}/instances`, req, { signal });
}

export function abortInstance(api: ApiClient, id: string): Promise<unknown> {
  return api.delete(`${base}/instances/${encodeURIComponent(id)}/abort`);
}

export function retrigger(api: ApiClient, workflowId: string, instanceId: string): Promise<unknown> {
  return api.post(`${base}/${encodeURIComponent(workflowId)}/${encodeURIComponent(instanceId)}/retrigger`, {});
}

/** runPath is the app path of a workflow's run page. */
export function runPath(workflowId: string, opts: { instanceId?: string; assessmentInstanceId?: string } = {}): string {
  const q = new URLSearchParams();
  if (opts.instanceId) q.set('instanceId', opts.instanceId);
  if (opts.assessmentInstanceId) q.set('assessmentInstanceId', opts.assessmentInstanceId);
  const qs = q.toString();
  return `/workflows/${encodeURIComponent(workflowId)}/run${qs ? `?${qs}` : ''}`;
}

/** workflowPath is the app path of a workflow's page. */
export function workflowPath(workflowId: string): string {
  return `/workflows/${encodeURIComponent(workflowId)}`;
}

/** durationBetween shows the time between two instants ("1.2 s", "3 min 4 s"). */
export function durationBetween(start?: string, end?: string, now = Date.now()): string {
  if (!start) return '';
  const a = new Date(start).getTime();
  const b = end ? new Date(end).getTime() : now;
  if (Number.isNaN(a) || Number.isNaN(b)) return '';
  const ms = Math.max(0, b - a);
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
