// The few orchestrator v2 calls the catalog pages make (the Workflows
// section has its own, fuller client), and the live updates of runs.
import { useEffect, useRef } from 'react';
import { useSignals } from './auth';
import type { ApiClient } from './client';

/** instancesChannel is the signals channel on which the user who started a run hears that it changed. */
export const instancesChannel = 'orchestrator';

/** InstanceChange is one run in an instancesChannel message. */
export interface InstanceChange {
  id: string;
  processId: string;
  state: string;
}

/** changedInstances reads the runs an instancesChannel message names ([] for anything else). */
export function changedInstances(message: unknown): InstanceChange[] {
  const list = (message as { instances?: unknown } | null)?.instances;
  return Array.isArray(list) ? list.filter((c): c is InstanceChange => typeof c?.id === 'string') : [];
}

/**
 * useInstanceChanges calls onChange with the ids of the signed-in user's
 * runs that changed, as the server announces them, and with undefined after
 * the live connection comes back (anything may have changed meanwhile).
 */
export function useInstanceChanges(onChange: (ids: string[] | undefined) => void): void {
  const signals = useSignals();
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const unsubscribe = signals.subscribe(instancesChannel, (message) => {
      const ids = changedInstances(message).map((c) => c.id);
      if (ids.length > 0) latest.current(ids);
    });
    const stopReconnect = signals.onReconnect(() => latest.current(undefined));
    return () => {
      unsubscribe();
      stopReconnect();
    };
  }, [signals]);
}

export interface InstanceSummary {
  id: string;
  processId: string;
  processName?: string;
  state?: string;
  start?: string;
  end?: string;
  duration?: string;
  initiatorEntity?: string;
  targetEntity?: string;
}

/** instancesForEntity lists the workflow runs started for an entity, newest first. */
export function instancesForEntity(api: ApiClient, entityRef: string, pageSize = 10, signal?: AbortSignal): Promise<{ items: InstanceSummary[] }> {
  return api.post<{ items: InstanceSummary[] }>(
    '/api/orchestrator/v2/workflows/instances',
    {
      filters: { field: 'targetEntity', operator: 'EQ', value: entityRef },
      paginationInfo: { pageSize, offset: 0, orderBy: 'start', orderDirection: 'DESC' },
    },
    { signal },
  );
}

/** instancePath is the app path of a workflow instance's page. */
export function instancePath(id: string): string {
  return `/workflows/instances/${encodeURIComponent(id)}`;
}

/** stateTone maps an instance state to a chip colour. */
export function stateTone(state?: string): 'success' | 'danger' | 'info' | 'warning' | 'neutral' {
  switch ((state ?? '').toUpperCase()) {
    case 'COMPLETED':
      return 'success';
    case 'ERROR':
      return 'danger';
    case 'ACTIVE':
      return 'info';
    case 'ABORTED':
    case 'SUSPENDED':
      return 'warning';
    default:
      return 'neutral';
  }
}

export interface WorkflowOverview {
  workflowId: string;
  name?: string;
  description?: string;
  category?: string;
  lastRunId?: string;
  lastRunStatus?: string;
  lastTriggeredMs?: number;
  isAvailable?: boolean;
}

/**
 * annotationWorkflowIds reads an entity's orchestrator.io/workflows
 * annotation: a JSON array of workflow ids, or a comma-separated list.
 */
export function annotationWorkflowIds(annotations?: Record<string, string>): string[] {
  const raw = annotations?.['orchestrator.io/workflows']?.trim();
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
  } catch {
    // A plain list.
  }
  return raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** workflowsForEntity lists the workflows an entity names or has run, with their last run for it. */
export function workflowsForEntity(api: ApiClient, entityRef: string, ids: string[], signal?: AbortSignal): Promise<{ overviews: WorkflowOverview[] }> {
  return api.post<{ overviews: WorkflowOverview[] }>('/api/orchestrator/v2/workflows/overview/entity', { targetEntity: entityRef, annotationWorkflowIds: ids }, { signal });
}

/** runPath is the app path of a workflow's run page, for a target entity when given. */
export function runPath(workflowId: string, targetEntity?: string): string {
  const q = targetEntity ? `?targetEntity=${encodeURIComponent(targetEntity)}` : '';
  return `/workflows/${encodeURIComponent(workflowId)}/run${q}`;
}
