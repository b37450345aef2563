import { describe, expect, it } from 'vitest';
import { stepStates } from './TaskPage';
import type { Task, TaskEvent } from './api';

const task = (status: Task['status']): Task => ({
  id: 't',
  status,
  createdAt: '2024-01-01T00:00:00Z',
  spec: { steps: [{ id: 'a', name: 'Fetch', action: 'fetch:template' }, { id: 'b', name: '', action: 'publish:git' }] },
});
let n = 0;
const ev = (type: string, body: TaskEvent['body'], at = '2024-01-01T00:00:01Z'): TaskEvent => ({ id: ++n, taskId: 't', type, body, createdAt: at });

describe('stepStates', () => {
  it('follows each step from the events, with times', () => {
    const s = stepStates(task('processing'), [
      ev('log', { message: 'Beginning step Fetch', stepId: 'a', status: 'processing' }, '2024-01-01T00:00:01Z'),
      ev('log', { message: 'Finished step Fetch', stepId: 'a', status: 'completed' }, '2024-01-01T00:00:03Z'),
      ev('log', { message: 'Beginning step publish:git', stepId: 'b', status: 'processing' }, '2024-01-01T00:00:04Z'),
    ]);
    expect(s).toEqual([
      { id: 'a', name: 'Fetch', status: 'completed', start: '2024-01-01T00:00:01Z', end: '2024-01-01T00:00:03Z' },
      { id: 'b', name: 'publish:git', status: 'processing', start: '2024-01-01T00:00:04Z', end: undefined },
    ]);
  });

  it('puts a step cut off by a restart back to open when the task is recovered', () => {
    const s = stepStates(task('processing'), [ev('log', { stepId: 'a', status: 'processing' }), ev('recovered', { recoverStrategy: 'none' })]);
    expect(s[0].status).toBe('open');
  });

  it('closes a step still processing when the task failed', () => {
    const s = stepStates(task('failed'), [ev('log', { stepId: 'a', status: 'processing' })]);
    expect(s[0].status).toBe('failed');
  });
});
