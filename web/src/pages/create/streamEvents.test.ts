// @vitest-environment node
// streamEvents against a real HTTP server that speaks the scaffolder's
// event stream: it drops the first connection, so the client has to resume
// after the last event it saw and say that it resumed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../api/client';
import { streamEvents, type TaskEvent } from './api';

const event = (id: number, type: string, body: TaskEvent['body'] = {}): TaskEvent => ({ id, taskId: 't1', type, body, createdAt: '2024-01-01T00:00:00Z' });

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** serve answers each eventstream request with handler's events, then ends the response. */
async function serve(handler: (req: IncomingMessage, n: number) => TaskEvent[]): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req);
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(': stream open\n\n');
    for (const e of handler(req, requests.length)) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    res.end();
  });
  await new Promise<void>((ready) => server!.listen(0, '127.0.0.1', ready));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests };
}

describe('streamEvents', () => {
  it('resumes after the last event when the server closes the stream, and reports each (re)connection', async () => {
    const { url, requests } = await serve((_req, n) =>
      n === 1 ? [event(1, 'log', { stepId: 'a', status: 'processing' }), event(2, 'log', { message: 'hello' })] : [event(3, 'completion', { message: 'done' })],
    );
    const api = new ApiClient(() => 'tok', url);
    const got: number[] = [];
    const opens: boolean[] = [];
    await streamEvents(api, 't1', (e) => got.push(e.id), new AbortController().signal, (resumed) => opens.push(resumed));

    expect(got).toEqual([1, 2, 3]);
    expect(opens).toEqual([false, true]);
    expect(requests.map((r) => r.url)).toEqual(['/api/scaffolder/v2/tasks/t1/eventstream', '/api/scaffolder/v2/tasks/t1/eventstream?after=2']);
    expect(requests[0].headers.authorization).toBe('Bearer tok');
  });
});
