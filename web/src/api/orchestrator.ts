// The few orchestrator v2 calls the catalog pages make (the Workflows
// section has its own, fuller client).
import type { ApiClient } from './client';

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
