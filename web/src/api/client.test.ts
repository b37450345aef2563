import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, buildQuery, parseErrorBody } from './client';

describe('parseErrorBody', () => {
  it.each([
    ['Backstage error body', 400, '{"error":{"name":"InputError","message":"filter: bad value"},"response":{"statusCode":400}}', 'InputError', 'filter: bad value'],
    ['SonataFlow body', 404, '{"message":"workflow \\"x\\" not found"}', 'NotFoundError', 'workflow "x" not found'],
    ['plain text', 500, 'database is locked', 'Error', 'database is locked'],
    ['HTML page', 502, '<html>Bad gateway</html>', 'Error', '502 Bad Gateway'],
    ['empty body on 401', 401, '', 'AuthenticationError', '401 Bad Gateway'],
  ])('%s', (_, status, text, name, message) => {
    expect(parseErrorBody(status, 'Bad Gateway', text)).toEqual({ name, message });
  });
});

describe('buildQuery', () => {
  it('repeats array keys and drops empty values', () => {
    expect(buildQuery({ facet: ['kind', 'spec.type'], limit: 20, cursor: undefined, q: '' })).toBe('?facet=kind&facet=spec.type&limit=20');
  });
  it('is empty without parameters', () => {
    expect(buildQuery({})).toBe('');
  });
});

describe('ApiClient', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the token and decodes JSON', async () => {
    const fetchMock = vi.fn(async () => new Response('{"items":[]}', { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const api = new ApiClient(() => 'tok', 'http://portico.test');
    await expect(api.get('/api/catalog/entities', { query: { limit: 1 } })).resolves.toEqual({ items: [] });
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://portico.test/api/catalog/entities?limit=1');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });

  it('turns an error body into an ApiError with the server message', async () => {
    vi.stubGlobal('fetch', async () => new Response('{"error":{"name":"NotFoundError","message":"No entity named x"}}', { status: 404 }));
    const api = new ApiClient(() => undefined);
    const err = await api.get('/api/catalog/entities/by-name/component/default/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).name).toBe('NotFoundError');
    expect((err as ApiError).message).toBe('No entity named x');
    expect((err as ApiError).status).toBe(404);
  });

  it('reports an unreachable server as a NetworkError', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    const err = (await new ApiClient(() => undefined).get('/api/x').catch((e: unknown) => e)) as ApiError;
    expect(err.name).toBe('NetworkError');
    expect(err.message).toContain('Failed to fetch');
  });

  it('calls onUnauthenticated on 401', async () => {
    vi.stubGlobal('fetch', async () => new Response('{"error":{"name":"AuthenticationError","message":"Missing credentials"}}', { status: 401 }));
    const on = vi.fn();
    await new ApiClient(() => undefined, '', on).get('/api/x').catch(() => undefined);
    expect(on).toHaveBeenCalledOnce();
  });
});
