// The HTTP client every page uses: it attaches the signed-in user's token
// and turns error bodies (Backstage's {error: {name, message}}, SonataFlow's
// {message}) into an ApiError whose message can be shown as it is.

/** ApiError is a failed API call, with the server's own words. */
export class ApiError extends Error {
  /** The error's name in Backstage's body (NotFoundError, InputError...). */
  readonly name: string;
  readonly status: number;
  readonly method: string;
  readonly url: string;

  constructor(opts: { name: string; message: string; status: number; method: string; url: string }) {
    super(opts.message);
    this.name = opts.name;
    this.status = opts.status;
    this.method = opts.method;
    this.url = opts.url;
  }
}

/** parseErrorBody reads an error response's body into a name and message. */
export function parseErrorBody(status: number, statusText: string, text: string): { name: string; message: string } {
  const fallbackName = status === 401 ? 'AuthenticationError' : status === 403 ? 'NotAllowedError' : status === 404 ? 'NotFoundError' : 'Error';
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      const err = b.error;
      if (err && typeof err === 'object') {
        const e = err as Record<string, unknown>;
        if (typeof e.message === 'string') {
          return { name: typeof e.name === 'string' ? e.name : fallbackName, message: e.message };
        }
      }
      if (typeof b.message === 'string') return { name: fallbackName, message: b.message };
      if (typeof b.error === 'string') return { name: fallbackName, message: b.error };
    }
  } catch {
    // Not JSON: use the text below.
  }
  const trimmed = text.trim();
  const message = trimmed && trimmed.length < 500 && !trimmed.startsWith('<') ? trimmed : `${status} ${statusText}`.trim();
  return { name: fallbackName, message };
}

export interface RequestOptions {
  method?: string;
  /** A JSON body; sent with Content-Type application/json. */
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null | (string | number)[]>;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** buildQuery renders query parameters; arrays repeat the key. */
export function buildQuery(query: RequestOptions['query']): string {
  if (!query) return '';
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) qs.append(key, String(v));
    else qs.append(key, String(value));
  }
  const s = qs.toString();
  return s ? `?${s}` : '';
}

/** ApiClient calls Portico's HTTP API with the current user's token. */
export class ApiClient {
  constructor(
    private readonly getToken: () => string | undefined,
    private readonly baseUrl = '',
    private readonly onUnauthenticated?: () => void,
  ) {}

  /** url returns the absolute URL of an API path ("/api/catalog/..."). */
  url(path: string, query?: RequestOptions['query']): string {
    return this.baseUrl + path + buildQuery(query);
  }

  /** token returns the current user's token, if signed in. */
  token(): string | undefined {
    return this.getToken();
  }

  async request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
    const url = this.url(path, opts.query);
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: opts.signal });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError({
        name: 'NetworkError',
        message: `Cannot reach Portico (${method} ${path}): ${e instanceof Error ? e.message : String(e)}`,
        status: 0,
        method,
        url,
      });
    }
    const text = await res.text();
    if (!res.ok) {
      const { name, message } = parseErrorBody(res.status, res.statusText, text);
      if (res.status === 401) this.onUnauthenticated?.();
      throw new ApiError({ name, message, status: res.status, method, url });
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  get<T>(path: string, opts?: Omit<RequestOptions, 'method' | 'body'>): Promise<T> {
    return this.request<T>(path, { ...opts, method: 'GET' });
  }

  post<T>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'method' | 'body'>): Promise<T> {
    return this.request<T>(path, { ...opts, method: 'POST', body: body ?? {} });
  }

  put<T>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'method' | 'body'>): Promise<T> {
    return this.request<T>(path, { ...opts, method: 'PUT', body: body ?? {} });
  }

  delete<T>(path: string, opts?: Omit<RequestOptions, 'method' | 'body'>): Promise<T> {
    return this.request<T>(path, { ...opts, method: 'DELETE' });
  }
}

/** errorMessage returns what to show a person for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
